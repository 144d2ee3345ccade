import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireBinary, track, waitExit, which } from './child-process';
import type { CrashableProcess } from './crashable-process';
import { freePort, waitForPort } from './ports';

/** A redis-server: stop() also removes its temp directory. */
export interface RedisServerHandle extends CrashableProcess {
  /** Runs the real `redis-cli` against this server and returns its stdout. */
  cli(...args: string[]): string;
}

const REDIS_HINT =
  'Install it (Debian/Ubuntu: apt-get install -y redis-server) or set REDIS_URL to a Redis to use.';

/** The version of the redis-server on PATH, or `missing`. */
export function redisVersion(): string {
  const bin = which('redis-server');
  if (!bin) return 'missing';
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout;
  return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
}

/**
 * Starts a throwaway redis-server on a free loopback port in a temp dir.
 * `extraArgs` are passed as redis-server command-line options (e.g. ['--appendonly', 'yes']).
 */
export async function startRedisServer(extraArgs: string[] = []): Promise<RedisServerHandle> {
  const given = process.env.REDIS_URL;
  if (given && extraArgs.length === 0) return externalRedis(given);
  return startOwnRedisServer(extraArgs);
}

/**
 * A Redis given by REDIS_URL (tests honour it; each works under its own key prefix). It cannot be
 * killed or restarted: tests that do that start their own with startOwnRedisServer.
 */
function externalRedis(url: string): RedisServerHandle {
  const cliBin = requireBinary('redis-cli', REDIS_HINT);
  const refuse = async (): Promise<void> => {
    throw new Error(`the Redis at REDIS_URL (${url}) is not the harness's to kill or restart`);
  };
  return {
    url,
    port: Number(new URL(url).port || 6379),
    kill: refuse,
    restart: refuse,
    stop: async () => undefined,
    cli: (...args: string[]) => {
      const r = spawnSync(cliBin, ['-u', url, ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    },
  };
}

/** Always a throwaway redis-server of the harness's own, whatever REDIS_URL says. */
export async function startOwnRedisServer(extraArgs: string[] = []): Promise<RedisServerHandle> {
  const bin = requireBinary('redis-server', REDIS_HINT);
  const cliBin = requireBinary('redis-cli', REDIS_HINT);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    child = spawn(
      bin,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--daemonize',
        'no',
        ...extraArgs,
      ],
      { stdio: 'ignore' },
    );
    track(child);
    await waitForPort(port, 10_000);
  };
  await launch();

  const kill = async (): Promise<void> => {
    if (!child) return;
    const c = child;
    child = undefined;
    c.kill('SIGKILL');
    await waitExit(c, 5_000);
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    cli: (...args: string[]) => {
      const r = spawnSync(cliBin, ['-p', String(port), ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    },
  };
}

/** A unique key prefix per test, so tests never share Redis state. */
export function uniquePrefix(label = 't'): string {
  return `test:${label}:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}:`;
}
