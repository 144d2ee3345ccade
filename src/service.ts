import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Env } from './config/env';
import { loadSplitsFile, type SplitsConfig } from './config/splits';
import { createRequestListener } from './http/app';
import type { Logger } from './log/logger';
import { createMetrics, createRegistry } from './metrics/metrics';
import { createRedis } from './store/redis-client';
import type { Weights } from './store/types';
import { WeightsStore } from './store/weights-store';
import { WeightsWatcher } from './store/weights-watcher';
import { PropagationMonitor } from './traefik/propagation-monitor';
import { ConfigProvider } from './traefik/provider';

export interface RunningService {
  url: string;
  port: number;
  server: http.Server;
  provider: ConfigProvider;
  store: WeightsStore;
  propagation: PropagationMonitor;
  stop(): Promise<void>;
}

/**
 * Wires the service from a parsed environment and starts listening. Used by main.ts, the demo and
 * the tests, so all three run the same thing.
 */
export async function startService(
  env: Env,
  log: Logger,
  splitsOverride?: SplitsConfig,
): Promise<RunningService> {
  const splits = splitsOverride ?? loadSplitsFile(env.SPLITS_FILE);
  const registry = createRegistry(env.METRICS_PREFIX);
  const metrics = createMetrics(registry, env.METRICS_PREFIX);
  const redis = createRedis(env.REDIS_URL, 'canary-provider');
  const subscriber = createRedis(env.REDIS_URL, 'canary-provider-watch');
  for (const [conn, name] of [
    [redis, 'main'],
    [subscriber, 'watch'],
  ] as const) {
    conn.on('error', (err: Error) =>
      log.debug({ err: err.message, connection: name }, 'redis connection error'),
    );
  }
  const store = new WeightsStore({
    redis,
    keyPrefix: env.KEY_PREFIX,
    splits,
    log: log.child({ component: 'store' }),
    auditMaxLen: env.AUDIT_STREAM_MAXLEN,
  });
  let monitor: PropagationMonitor | undefined;
  const provider = new ConfigProvider({
    splits,
    store,
    metrics,
    log: log.child({ component: 'provider' }),
    onExternalChange: (split, before, after) => {
      metrics.weightChanges.inc({ split, source: 'external' });
      const canary = splits.byName.get(split)?.canary ?? '';
      if ((before?.[canary] ?? 0) > 0 && after?.[canary] === 0) {
        metrics.rollbackEvents.inc({ split, trigger: 'external' });
      }
      log.info({ split, before, after }, 'recorded a change made outside the service');
    },
    onServedChange: (split, served) => monitor?.noteChange(split, served),
  });
  monitor = new PropagationMonitor({
    traefikUrls: env.TRAEFIK_API_URLS,
    splits,
    served: (split) => provider.state(split)?.served,
    metrics,
    log: log.child({ component: 'propagation' }),
    intervalMs: env.TRAEFIK_POLL_INTERVAL_MS,
  });
  const propagation = monitor;
  const watcher = new WeightsWatcher({
    tracked: redis,
    subscriber,
    keyPrefix: env.KEY_PREFIX,
    log: log.child({ component: 'watcher' }),
    onChange: (keys) => {
      const weightsPrefix = store.keys.weightsPrefix();
      void provider.refresh(keys?.map((k) => k.slice(weightsPrefix.length)));
    },
  });

  const listener = createRequestListener({
    splits,
    provider,
    store,
    metrics,
    registry,
    log: log.child({ component: 'http' }),
    providerToken: env.PROVIDER_TOKEN,
    adminToken: env.ADMIN_TOKEN,
    readyWithinMs: Math.max(5_000, env.RESYNC_INTERVAL_MS * 3),
    ...(propagation.enabled && {
      describe: (split: string) => ({ traefik: propagation.viewsOf(split) }),
      waitApplied: (split: string, weights: Weights, timeoutMs: number) =>
        propagation.waitApplied(split, weights, timeoutMs),
    }),
  });

  watcher.start();
  await new Promise<void>((resolve) => {
    if (redis.status === 'ready') resolve();
    redis.once('ready', () => resolve());
    setTimeout(resolve, 2_000).unref();
  });
  await provider.refresh();
  const resync = setInterval(() => void provider.refresh(), env.RESYNC_INTERVAL_MS);
  resync.unref();
  propagation.start();

  const server = http.createServer(listener);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.PORT, env.HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST}:${port}`;
  log.info(
    { url, splits: splits.splits.map((s) => s.name), keyPrefix: env.KEY_PREFIX },
    'listening',
  );

  return {
    url,
    port,
    server,
    provider,
    store,
    propagation,
    stop: async () => {
      clearInterval(resync);
      propagation.stop();
      watcher.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}
