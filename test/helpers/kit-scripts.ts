import os from 'node:os';
import path from 'node:path';
import { runProcess, type ProcessRun } from '../../scripts/lib/child-process';
import type { RedisServerHandle } from '../../scripts/lib/redis-process';
import { ROOT } from '../../scripts/lib/build-dist';
import { ADMIN_TOKEN } from './service';

/** The deploy kit's shell scripts (scripts/*.sh) as the deploy tests run them. */

/**
 * Runs one of the kit's scripts (`file` from the repository root) to its end, asynchronously: the
 * service it talks to may run in this process and must keep answering. Only PATH, a HOME of its
 * own and `env` are set, so what a script reads comes from the test, not from the developer's shell.
 */
export function runKitScript(
  file: string,
  args: string[],
  env: Record<string, string>,
  options: { timeoutMs?: number; cwd?: string } = {},
): Promise<ProcessRun> {
  return runProcess(path.join(ROOT, file), args, {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env },
    timeoutMs: options.timeoutMs ?? 20_000,
    label: `${file} ${args.join(' ')}`,
  });
}

/**
 * What the scripts need to reach a test's service and its Redis: the provider's URL and admin token,
 * its key prefix (for the redis-cli fallback) and Redis's port; the provider token when the service
 * checks one.
 */
export function kitScriptEnv(options: {
  service: { url: string; prefix: string };
  redis: RedisServerHandle;
  providerToken?: string;
}): Record<string, string> {
  return {
    CANARY_URL: options.service.url,
    CANARY_TOKEN: ADMIN_TOKEN,
    ...(options.providerToken !== undefined && { PROVIDER_TOKEN: options.providerToken }),
    KEY_PREFIX: options.service.prefix,
    REDIS_PORT: String(options.redis.port),
  };
}

/** A hash as redis-cli prints HGETALL (field and value on alternate lines), as an object. */
export function hashFromCli(reply: string): Record<string, string> {
  const lines = reply.trim().split('\n').filter(Boolean);
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]] = lines[i + 1];
  return out;
}
