import http from 'node:http';
import v8 from 'node:v8';
import type { Express } from 'express';
import type { AddressInfo } from 'node:net';
import type { Env } from './config/env';
import { loadSplitsFile, type SplitsConfig } from './config/splits';
import { createApp, createRequestListener, type AppDeps } from './http/app';
import { ChangeFeed } from './http/change-feed';
import { rolloutRouter } from './http/routes/rollout-routes';
import { createRollouts, type Rollouts } from './rollout';
import type { Logger } from './log/logger';
import { createMetrics, createRegistry, initSplitCounters, type Metrics } from './metrics/metrics';
import { createRedis, describeRedisTarget, redisTargetOf } from './store/redis-client';
import type { Weights } from './store/types';
import { WeightsStore } from './store/weights-store';
import { WeightsWatcher } from './store/weights-watcher';
import { HeldPolls } from './traefik/held-polls';
import { PropagationMonitor } from './traefik/propagation-monitor';
import { ConfigProvider } from './traefik/provider';
import { readSnapshotFile, splitsHashOf } from './traefik/snapshot-file';
import { SnapshotKeeper } from './traefik/snapshot-keeper';

export interface RunningService {
  url: string;
  port: number;
  server: http.Server;
  /** The Express app behind every route but GET /traefik. */
  app: Express;
  provider: ConfigProvider;
  heldPolls: HeldPolls;
  store: WeightsStore;
  propagation: PropagationMonitor;
  rollouts: Rollouts;
  stop(): Promise<void>;
}

export interface StartServiceOptions {
  /**
   * false: every part is built, the rollout API included, but the rollout controller never
   * starts, so nothing moves a rollout on its own (tests that drive the API step by step).
   */
  controller?: boolean;
}

/**
 * Wires the service from a parsed environment and starts listening. Used by main.ts, the demo and
 * the tests, so all three run the same thing.
 */
export async function startService(
  env: Env,
  log: Logger,
  splitsOverride?: SplitsConfig,
  options: StartServiceOptions = {},
): Promise<RunningService> {
  const splits = splitsOverride ?? loadSplitsFile(env.SPLITS_FILE);
  warnIfHeapIsTight(splits.splits.length, log);
  const registry = createRegistry(env.METRICS_PREFIX);
  const metrics = createMetrics(registry, env.METRICS_PREFIX);
  initSplitCounters(
    metrics,
    splits.splits.map((s) => s.name),
  );
  const redisTarget = redisTargetOf(env);
  // One connection per job, so that none can queue behind another's commands: the reads that feed
  // /traefik and change tracking, the subscriber, the writes, the rollout lease, and the reads
  // anyone may make through the open API.
  const redis = createRedis(redisTarget, 'canary-provider');
  const subscriber = createRedis(redisTarget, 'canary-provider-watch');
  const writer = createRedis(redisTarget, 'canary-provider-write');
  const leaseRedis = createRedis(redisTarget, 'canary-provider-lease');
  const openReads = createRedis(redisTarget, 'canary-provider-api');
  const connections = [
    [redis, 'main'],
    [subscriber, 'watch'],
    [writer, 'write'],
    [leaseRedis, 'lease'],
    [openReads, 'api'],
  ] as const;
  for (const [conn, name] of connections) {
    conn.on('error', (err: Error) =>
      log.debug({ err: err.message, connection: name }, 'redis connection error'),
    );
  }
  const acks = { replicas: env.REDIS_WRITE_REPLICAS, timeoutMs: env.REDIS_WRITE_TIMEOUT_MS };
  const store = new WeightsStore({
    redis,
    writer,
    historyReader: openReads,
    keyPrefix: env.KEY_PREFIX,
    splits,
    log: log.child({ component: 'store' }),
    auditMaxLen: env.AUDIT_STREAM_MAXLEN,
    acks,
  });
  // What the operator page and other watchers are told; rollouts are read while someone listens.
  const feed = new ChangeFeed({
    rollouts: {
      splits: splits.splits.filter((s) => s.rollout).map((s) => s.name),
      describe: (split) => rollouts.describe(split),
    },
  });
  const heldPolls = new HeldPolls({ metrics, log: log.child({ component: 'held-polls' }) });
  // Assigned right below: the provider and the monitor refer to each other.
  // eslint-disable-next-line prefer-const
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
      feed.publish({ type: 'audit', split });
    },
    onServedChange: (split, served) => monitor?.noteChange(split, served),
    onStateChange: (state) =>
      feed.publish({
        type: 'weights',
        split: state.split.name,
        served: state.served,
        source: state.source,
        valid: state.valid,
        problems: state.problems,
      }),
    onPublish: (_body, noticedAt) => {
      heldPolls.releaseAll(noticedAt);
      snapshots?.changed();
    },
  });
  const splitsHash = splitsHashOf(splits);
  const snapshots =
    env.SNAPSHOT_FILE === undefined
      ? undefined
      : new SnapshotKeeper({
          file: env.SNAPSHOT_FILE,
          splitsHash,
          log: log.child({ component: 'snapshot' }),
          take: () => {
            const body = provider.current();
            // What was read from Redis only: the snapshot itself is on disk already.
            if (body === undefined || provider.snapshot) return undefined;
            const served = Object.fromEntries(
              provider.allStates().map((s) => [s.split.name, s.served]),
            );
            return { body: body.json, served };
          },
        });
  // A dropped connection is stale at once, not at the next read; reconnected, read at once.
  for (const event of ['close', 'end', 'error'] as const) {
    redis.on(event, (err?: Error) =>
      provider.connectionLost(err instanceof Error ? err.message : `connection ${event}`),
    );
  }
  redis.on('ready', () => {
    if (provider.stale) void provider.refresh();
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

  const rollouts = createRollouts({
    redis: writer,
    leaseRedis,
    openReadRedis: openReads,
    keyPrefix: env.KEY_PREFIX,
    splits,
    store,
    registry,
    metricsPrefix: env.METRICS_PREFIX,
    metrics,
    log,
    auditMaxLen: env.AUDIT_STREAM_MAXLEN,
    acks,
    prometheusUrl: env.PROMETHEUS_URL,
  });

  const appDeps: AppDeps = {
    splits,
    provider,
    store,
    metrics,
    registry,
    log: log.child({ component: 'http' }),
    providerToken: env.PROVIDER_TOKEN,
    heldPolls,
    adminToken: env.ADMIN_TOKEN,
    readyWithinMs: Math.max(5_000, env.RESYNC_INTERVAL_MS * 3),
    apiRouters: [rolloutRouter(rollouts.service, splits)],
    openReads: {
      concurrency: env.OPEN_READ_CONCURRENCY,
      queue: env.OPEN_READ_QUEUE,
      onOutcome: (outcome) => metrics.openReads.inc({ outcome }),
    },
    feed,
    describe: async (split: string) => ({
      ...(propagation.enabled && { traefik: propagation.viewsOf(split) }),
      ...(await rollouts.describe(split)),
    }),
    ...(propagation.enabled && {
      waitApplied: (split: string, weights: Weights, timeoutMs: number) =>
        propagation.waitApplied(split, weights, timeoutMs),
    }),
  };
  for (const outcome of ['served', 'queued', 'refused']) metrics.openReads.inc({ outcome }, 0);
  const app = createApp(appDeps);
  const listener = createRequestListener(appDeps, app);

  watcher.start();
  // Every connection, so that the first write does not find its own still connecting.
  await Promise.all(
    connections.map(
      ([conn]) =>
        new Promise<void>((resolve) => {
          if (conn.status === 'ready') resolve();
          conn.once('ready', () => resolve());
          setTimeout(resolve, 2_000).unref();
        }),
    ),
  );
  await provider.refresh();
  if (provider.current() === undefined && env.SNAPSHOT_FILE !== undefined) {
    await seedFromSnapshot(
      provider,
      env.SNAPSHOT_FILE,
      splitsHash,
      log.child({ component: 'snapshot' }),
    );
  }
  const versions = deploymentVersions(splits, rollouts, metrics, log);
  const resync = setInterval(() => {
    void provider.resyncSlice(env.RESYNC_BATCH);
    void versions();
  }, env.RESYNC_INTERVAL_MS);
  resync.unref();
  propagation.start();
  // No plan, no controller: it would only hold a lease for nothing.
  if (options.controller !== false && splits.splits.some((s) => s.rollout)) rollouts.start();
  await versions();

  // Timeouts are enforced at each check of the connections: once a second, not Node's 30 s.
  const server = http.createServer({ connectionsCheckingInterval: 1000 }, listener);
  server.keepAliveTimeout = 65_000;
  // Slow or endless clients must not hold sockets: bounded headers, request and connection count.
  server.headersTimeout = env.HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = env.HTTP_REQUEST_TIMEOUT_MS;
  server.maxConnections = env.HTTP_MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.PORT, env.HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST}:${port}`;
  log.info(
    {
      url,
      splits: splits.splits.map((s) => s.name),
      keyPrefix: env.KEY_PREFIX,
      redis: describeRedisTarget(redisTarget),
    },
    'listening',
  );

  return {
    url,
    port,
    server,
    app,
    provider,
    heldPolls,
    store,
    propagation,
    rollouts,
    stop: async () => {
      // No new connection first, so a client's next poll is refused rather than cut off; then
      // every held poll gets the current body at once, closing its connection.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await heldPolls.drain();
      server.closeIdleConnections();
      clearInterval(resync);
      feed.close();
      propagation.stop();
      await rollouts.stop();
      watcher.stop();
      await snapshots?.close();
      server.closeAllConnections();
      await closed;
      for (const [conn] of connections) conn.disconnect();
    },
  };
}

/**
 * Redis did not answer at start: serve the last-good snapshot, if one was written for these very
 * splits, rather than nothing (Traefik would get no routes at all). Anything else is logged and
 * left alone: the service then answers 503 until Redis does.
 */
async function seedFromSnapshot(
  provider: ConfigProvider,
  file: string,
  splitsHash: string,
  log: Logger,
): Promise<void> {
  const read = await readSnapshotFile(file, splitsHash);
  switch (read.kind) {
    case 'missing':
      log.info({ file }, 'Redis unreachable at start and no last-good snapshot: answering 503');
      return;
    case 'corrupt':
      log.warn(
        { file, reason: read.reason },
        `ignored the last-good snapshot: it ${read.reason}; it is rewritten once Redis answers`,
      );
      return;
    case 'other-splits':
      log.warn(
        { file, snapshotSplitsHash: read.splitsHash, splitsHash, writtenAt: read.writtenAt },
        'ignored the last-good snapshot: it was written for another splits file',
      );
      return;
    case 'ok':
      if (provider.seed(read.snapshot)) {
        const ageSeconds = Math.round((Date.now() - Date.parse(read.snapshot.writtenAt)) / 1000);
        log.warn(
          { file, writtenAt: read.snapshot.writtenAt, ageSeconds },
          'Redis unreachable at start: serving the last-good snapshot until it answers',
        );
      }
  }
}

/**
 * Keeps `swarm_deployment_version` on each backend's version: for a canary, the one its running
 * rollout names, else the one in splits.yaml. A changed version replaces the old series rather
 * than adding one.
 */
function deploymentVersions(
  splits: SplitsConfig,
  rollouts: Rollouts,
  metrics: Metrics,
  log: Logger,
) {
  const shown = new Map<string, string>();
  return async (): Promise<void> => {
    for (const split of splits.splits) {
      let rolloutVersion: string | null = null;
      if (split.rollout) {
        try {
          rolloutVersion = await rollouts.service.versionOf(split.name);
        } catch (err) {
          log.debug({ err, split: split.name }, 'could not read the rollout version');
        }
      }
      for (const backend of split.backends) {
        const version = (backend.name === split.canary ? rolloutVersion : null) ?? backend.version;
        const key = `${split.name}/${backend.name}`;
        const before = shown.get(key);
        if (version === undefined || version === before) continue;
        if (before !== undefined) {
          metrics.deploymentVersion.remove({
            split: split.name,
            backend: backend.name,
            version: before,
          });
        }
        metrics.deploymentVersion.set({ split: split.name, backend: backend.name, version }, 1);
        shown.set(key, version);
      }
    }
  };
}

/**
 * `npm start` and the Dockerfile cap the V8 heap (160 MB) to keep memory near the live data; that
 * suits about 15,000 splits (about 5 KB of live heap each, measured at 10,000). Beyond, say so.
 */
function warnIfHeapIsTight(splitCount: number, log: Logger): void {
  const limitMb = v8.getHeapStatistics().heap_size_limit / 2 ** 20;
  const neededMb = Math.ceil(1.5 * (40 + (splitCount * 5) / 1024));
  if (limitMb < neededMb) {
    log.warn(
      { splits: splitCount, heapLimitMb: Math.round(limitMb), suggestedMb: neededMb },
      `the heap cap is tight for this many splits: set NODE_OPTIONS=--max-old-space-size=${neededMb} or more`,
    );
  }
}
