import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../../scripts/lib/redis-process';

/** What a describe block's hooks started; read it inside tests, once beforeAll has run. */
export interface RedisUnderTest {
  redisServer: RedisServerHandle;
  /** A client of the test's own, for arranging and inspecting keys. */
  redis: Redis;
}

/**
 * Registers beforeAll/afterAll hooks that start a redis-server (startRedisServer: REDIS_URL when
 * set) and a client on it, and stop both after the block. `beforeStop` runs first (Jest runs
 * afterAll hooks in the order they are declared, so whatever uses this Redis stops here).
 */
export function useRedisServer(beforeStop?: () => Promise<void>): RedisUnderTest {
  const handle = {} as RedisUnderTest;
  beforeAll(async () => {
    handle.redisServer = await startRedisServer();
    handle.redis = new Redis(handle.redisServer.url);
  });
  afterAll(async () => {
    await beforeStop?.();
    handle.redis?.disconnect();
    await handle.redisServer?.stop();
  });
  return handle;
}
