import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuSecondsOf, sleep, startNodeChild, type NodeChild } from '../lib/proc';
import { startRedis } from '../lib/redis-server';
import { generatedSplits } from '../lib/splits';
import { startTraefik } from '../lib/traefik';

export interface IdleCost {
  splits: number;
  mode: 'held' | 'polling';
  /** The providers.http block Traefik ran with. */
  settings: string;
  idleSec: number;
  traefikCpuSec: number;
  serviceCpuSec: number;
}

/**
 * CPU seconds Traefik and the service use while nothing changes, with held polls and with plain
 * polling at 1 s, at each split count. One service per count; one Traefik per mode in turn.
 */
export async function measureIdle(
  traefikBin: string,
  options: { sizes: number[]; idleSec: number },
  log: (line: string) => void,
): Promise<IdleCost[]> {
  const out: IdleCost[] = [];
  for (const count of options.sizes) {
    const redisServer = await startRedis(['--appendonly', 'no']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-bench-idle-'));
    let service: NodeChild<{ url: string }> | undefined;
    try {
      const splitsFile = path.join(dir, 'splits.json');
      fs.writeFileSync(splitsFile, JSON.stringify(generatedSplits(count)));
      service = await startNodeChild<{ url: string }>(
        path.join(__dirname, '..', 'service-child.js'),
        {
          PORT: '0',
          REDIS_URL: redisServer.url,
          KEY_PREFIX: 'bench:idle:',
          ADMIN_TOKEN: 'bench-admin-token-0123456789',
          LOG_LEVEL: 'silent',
          BENCH_SPLITS_JSON: splitsFile,
        },
        60_000,
      );
      const modes = [
        {
          mode: 'held' as const,
          http: {
            endpoint: `${service.ready.url}/traefik?watch=25s`,
            pollInterval: '250ms',
            pollTimeout: '30s',
          },
        },
        {
          mode: 'polling' as const,
          http: { endpoint: `${service.ready.url}/traefik`, pollInterval: '1s', pollTimeout: '5s' },
        },
      ];
      for (const { mode, http } of modes) {
        const traefik = await startTraefik(traefikBin, {
          providersThrottleDuration: '200ms',
          http,
        });
        try {
          // Let Traefik fetch and apply the configuration once before the window opens.
          const ready = Date.now() + 60_000;
          while (Date.now() < ready) {
            const res = await fetch(`${traefik.apiUrl}/api/http/routers/s00000@http`).catch(
              () => undefined,
            );
            if (res?.status === 200) break;
            await sleep(200);
          }
          await sleep(3_000);
          const t0 = cpuSecondsOf(traefik.pid);
          const s0 = cpuSecondsOf(service.pid);
          await sleep(options.idleSec * 1_000);
          const cost: IdleCost = {
            splits: count,
            mode,
            settings: `endpoint …${http.endpoint.slice(http.endpoint.indexOf('/traefik'))}, pollInterval ${http.pollInterval}, pollTimeout ${http.pollTimeout}`,
            idleSec: options.idleSec,
            traefikCpuSec: Math.round((cpuSecondsOf(traefik.pid) - t0) * 100) / 100,
            serviceCpuSec: Math.round((cpuSecondsOf(service.pid) - s0) * 100) / 100,
          };
          out.push(cost);
          log(
            `  idle ${options.idleSec} s, ${count} splits, ${mode}: Traefik ${cost.traefikCpuSec} CPU s, service ${cost.serviceCpuSec} CPU s`,
          );
        } finally {
          await traefik.stop();
        }
      }
    } finally {
      await service?.stop();
      await redisServer.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}
