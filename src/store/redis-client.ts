import { Redis } from 'ioredis';

/**
 * A Redis connection that fails fast while Redis is away (no offline queue: a read or write must
 * not hang, it must fail so the service can serve its last good state) and reconnects for ever.
 */
export function createRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
    // A subscriber re-subscribes by hand (weights-watcher): its connection id must be read first.
    autoResubscribe: false,
  });
}
