import type { Redis } from 'ioredis';
import { useRedisServer, type RedisUnderTest } from './redis-under-test';
import { ADMIN_TOKEN, ensureCliBuilt } from './service';

/** What canaryctl's integration tests share: the built binary against one Redis. */

/**
 * Registers the hooks of a test file that runs the built canaryctl: dist/ rebuilt first when it is
 * stale (the binary, not the sources, is what runs), then the file's redis-server and a client on
 * it (useRedisServer). The fields are set once beforeAll has run.
 */
export function useBuiltCliAndRedis(): RedisUnderTest {
  // Declared before useRedisServer's hooks, so Jest builds before it starts the server.
  beforeAll(ensureCliBuilt, 150_000);
  return useRedisServer();
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
  stack: RedisUnderTest,
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
