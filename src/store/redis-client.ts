import fs from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import type { Env } from '../config/env';

/** TLS settings (PEM contents, not paths); an empty object is TLS with the system's CAs. */
export interface RedisTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Where the data lives: one server by URL, or the primary a set of Sentinels names. */
export type RedisTarget =
  | { mode: 'single'; url: string; password?: string; tls?: RedisTls }
  | {
      mode: 'sentinel';
      sentinels: { host: string; port: number }[];
      name: string;
      sentinelPassword?: string;
      password?: string;
      /** TLS to the data nodes the Sentinels name. */
      tls?: RedisTls;
      /** TLS to the Sentinels themselves. */
      sentinelTls?: RedisTls;
    };

/** The TLS files the environment names, read once (loadEnv has checked they are readable). */
function tlsFiles(env: Env): RedisTls {
  const read = (file: string | undefined) =>
    file === undefined ? undefined : fs.readFileSync(file, 'utf8');
  const ca = read(env.REDIS_TLS_CA_FILE);
  const cert = read(env.REDIS_TLS_CERT_FILE);
  const key = read(env.REDIS_TLS_KEY_FILE);
  return {
    ...(ca !== undefined && { ca }),
    ...(cert !== undefined && { cert }),
    ...(key !== undefined && { key }),
  };
}

/** The Redis target the parsed environment selects (the schema has ruled out mixed forms). */
export function redisTargetOf(env: Env): RedisTarget {
  const files = tlsFiles(env);
  if (env.REDIS_SENTINELS.length > 0 && env.REDIS_SENTINEL_NAME !== undefined) {
    const sentinelTls = env.REDIS_SENTINEL_TLS ?? env.REDIS_TLS ?? false;
    return {
      mode: 'sentinel',
      sentinels: env.REDIS_SENTINELS,
      name: env.REDIS_SENTINEL_NAME,
      sentinelPassword: env.REDIS_SENTINEL_PASSWORD,
      password: env.REDIS_PASSWORD,
      ...(env.REDIS_TLS === true && { tls: files }),
      ...(sentinelTls && { sentinelTls: files }),
    };
  }
  if (env.REDIS_URL === undefined) {
    throw new TypeError('the environment names neither REDIS_URL nor REDIS_SENTINELS');
  }
  const tls = env.REDIS_TLS === true || env.REDIS_URL.startsWith('rediss://');
  return {
    mode: 'single',
    url: env.REDIS_URL,
    password: env.REDIS_PASSWORD,
    ...(tls && { tls: files }),
  };
}

/** Where a target points, for logs and errors (never a password). */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.mode === 'single') {
    const url = new URL(target.url);
    url.username = '';
    url.password = '';
    return url.toString();
  }
  return `sentinel:${target.name}@${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
}

const retry = (times: number): number => Math.min(times * 100, 1_000);

/**
 * A Redis connection that fails fast while Redis is away (no offline queue: a read or write must
 * not hang, it must fail so the service can serve its last good state) and reconnects for ever.
 * Every connection the service opens comes from here, so in Sentinel mode each of them asks the
 * Sentinels for the current primary when it reconnects, and all follow a failover.
 */
export function createRedis(target: RedisTarget | string, name: string): Redis {
  const t: RedisTarget = typeof target === 'string' ? { mode: 'single', url: target } : target;
  const options = redisOptionsOf(t, name);
  return t.mode === 'single' ? new Redis(t.url, options) : new Redis(options);
}

/** The ioredis options of one connection to a target (what createRedis opens). */
export function redisOptionsOf(t: RedisTarget, name: string): RedisOptions {
  const common: RedisOptions = {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    retryStrategy: retry,
    // A subscriber re-subscribes by hand (weights-watcher): its connection id must be read first.
    autoResubscribe: false,
    ...(t.password !== undefined && { password: t.password }),
  };
  if (t.mode === 'single') return { ...common, ...(t.tls && { tls: { ...t.tls } }) };
  return {
    ...common,
    sentinels: t.sentinels,
    name: t.name,
    role: 'master',
    ...(t.sentinelPassword !== undefined && { sentinelPassword: t.sentinelPassword }),
    // The default gives up once every Sentinel has failed a while; the service must not.
    sentinelRetryStrategy: retry,
    // After a planned failover the old primary turns replica and answers READONLY: reconnect, so
    // the Sentinels name the new one.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    // ioredis applies `tls` to the data nodes only with enableTLSForSentinelMode.
    ...(t.tls && { tls: { ...t.tls }, enableTLSForSentinelMode: true }),
    ...(t.sentinelTls && { sentinelTLS: { ...t.sentinelTls } }),
  };
}
