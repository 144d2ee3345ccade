import { Redis } from 'ioredis';
import { UsageError } from '../../src/cli/cli-error';
import { startRedisServer, type RedisServerHandle } from '../../scripts/lib/redis-process';
import { ADMIN_TOKEN, ensureCliBuilt } from './service';

/** What canaryctl's tests share: the built binary against one Redis, and its usage errors. */

export interface CliTestRedis {
  /** The file's redis-server (redis-cli, its URL and port). */
  redisServer: RedisServerHandle;
  /** An ioredis client on it, to read what a command wrote. */
  redis: Redis;
}

/**
 * Registers the hooks of a test file that runs the built canaryctl: dist/ rebuilt first when it is
 * stale (the binary, not the sources, is what runs), one redis-server for the file's services, and
 * a client on it; both closed after the file's tests. The fields are set once beforeAll has run.
 */
export function useBuiltCliAndRedis(): CliTestRedis {
  const stack = {} as CliTestRedis;
  beforeAll(async () => {
    await ensureCliBuilt();
    stack.redisServer = await startRedisServer();
    stack.redis = new Redis(stack.redisServer.url);
  }, 150_000);
  afterAll(async () => {
    stack.redis?.disconnect();
    await stack.redisServer?.stop();
  });
  return stack;
}

/** The UsageError that `fn` throws; any other outcome fails the test. */
export function usageErrorOf(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('expected a UsageError');
}

/** canaryctl's environment for a write to `service`: its URL and the admin token. */
export function adminEnvFor(service: { url: string }): Record<string, string> {
  return { CANARY_URL: service.url, CANARY_TOKEN: ADMIN_TOKEN };
}

/**
 * Starts a service for one test (other splits or variables than the file's shared one) on the
 * file's Redis with `start`, runs `body` against it with canaryctl's admin environment for it, then
 * stops it and deletes its keys, whatever `body` did.
 */
export async function withOwnService<
  T extends { url: string; stop(): Promise<void>; cleanup(redis: Redis): Promise<void> },
>(
  stack: CliTestRedis,
  start: (redisUrl: string) => Promise<T>,
  body: (adminEnv: Record<string, string>, service: T) => Promise<void>,
): Promise<void> {
  const service = await start(stack.redisServer.url);
  try {
    await body(adminEnvFor(service), service);
  } finally {
    await service.stop();
    await service.cleanup(stack.redis);
  }
}
