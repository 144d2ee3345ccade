import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, track, waitExit, waitForPort } from './proc';

/** Thrown when a program the bench cannot run without is missing: `npm run bench` exits 1. */
export class PrerequisiteError extends Error {
  readonly code = 'BENCH_PREREQUISITE_MISSING';
}

export function which(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const bin = found.stdout.trim();
  return found.status === 0 && bin !== '' ? bin : undefined;
}

export function redisVersion(): string {
  const bin = which('redis-server');
  if (!bin) return 'missing';
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout;
  return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
}

export interface RedisHandle {
  url: string;
  port: number;
  /** SIGKILL: a crash, not a clean shutdown. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data directory. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A throwaway redis-server on a free loopback port in its own temp directory. `extraArgs` are
 * redis-server options, e.g. ['--appendonly', 'yes'].
 */
export async function startRedis(extraArgs: string[] = []): Promise<RedisHandle> {
  const bin = which('redis-server');
  if (!bin) {
    throw new PrerequisiteError(
      'redis-server is not on PATH: install it (Debian/Ubuntu: apt-get install -y redis-server)',
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-bench-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const c = spawn(
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...extraArgs],
      { stdio: 'ignore' },
    );
    track(c);
    child = c;
    await waitForPort(port, 10_000);
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c) return;
    c.kill('SIGKILL');
    await waitExit(c, 5_000);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    start,
    stop: async () => {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
