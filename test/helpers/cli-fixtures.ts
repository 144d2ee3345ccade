import { Redis } from 'ioredis';
import { UsageError } from '../../src/cli/cli-error';
import { startRedisServer, type RedisServerHandle } from './redis-server';
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
 * Runs `body` against a service a test started for itself (other splits or variables than the
 * file's shared one), then stops it and deletes its keys from the file's Redis, whatever `body` did.
 */
export async function withOwnService<
  T extends { stop(): Promise<void>; cleanup(redis: Redis): Promise<void> },
>(stack: CliTestRedis, service: T, body: (service: T) => Promise<void>): Promise<void> {
  try {
    await body(service);
  } finally {
    await service.stop();
    await service.cleanup(stack.redis);
  }
}
