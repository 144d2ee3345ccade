import os from 'node:os';
import { redisVersion } from '../../scripts/lib/redis-process';

export interface Machine {
  date: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  redis: string;
  autocannon: string;
  traefik: string;
}

export function describeMachine(traefik: string): Machine {
  const cpus = os.cpus();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const autocannon = (require('autocannon/package.json') as { version: string }).version;
  return {
    date: new Date().toISOString(),
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisVersion(),
    autocannon,
    traefik,
  };
}
