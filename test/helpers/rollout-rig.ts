import type { Redis } from 'ioredis';
import type { SplitsConfig } from '../../src/config/splits';
import { RolloutStateStore } from '../../src/rollout/plan/rollout-state-store';
import type { RolloutState } from '../../src/rollout/plan/rollout-state';
import { rolloutLeaseKey } from '../../src/rollout/engine/lease-key';
import { createKeys } from '../../src/store/keys';
import { waitUntil } from '../../scripts/lib/ports';
import type { PrometheusHandle } from '../../scripts/lib/prometheus-process';
import { uniquePrefix, type RedisServerHandle } from '../../scripts/lib/redis-process';
import {
  createRolloutReplica,
  type RolloutReplica,
  type RolloutReplicaOptions,
} from './rollout-replica';
import {
  startScrapedExporter,
  type ExporterUnderPrometheus,
  type ScrapedExporter,
} from './scraped-exporter';
import { useRedisServer } from './redis-under-test';
import { startWebhookReceiver, type WebhookReceiverHandle } from './webhook-receiver';

export interface RolloutRig<E extends ScrapedExporter> {
  readonly redisServer: RedisServerHandle;
  /** The test's own connection, for reading and editing keys behind the replicas' backs. */
  readonly admin: Redis;
  readonly exporter: E;
  readonly prometheus: PrometheusHandle;
  /** This test's key prefix. */
  readonly prefix: string;
  /** This test's receiver for Slack and webhook notifications. */
  readonly receiver: WebhookReceiverHandle;
  /**
   * A replica on this test's prefix, querying the rig's Prometheus, stopped after the test. Its
   * controller is not started. The defaults make a controller that ticks every 100 ms and whose
   * lease outlives a crash by 1.5 s, so that a test sees a takeover without waiting long.
   */
  replica(
    splits: SplitsConfig,
    tuning?: Omit<RolloutReplicaOptions, 'redisUrl' | 'prefix' | 'splits'>,
  ): Promise<RolloutReplica>;
  /** council's rollout state as Redis holds it. */
  readState(): Promise<RolloutState | undefined>;
  /** council's weights hash as Redis holds it. */
  weights(): Promise<Record<string, string>>;
  /** Until council's rollout has `status` and its target is applied (the status is recorded first). */
  waitForStatus(status: RolloutState['status'], timeoutMs: number): Promise<void>;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Registers the jest hooks the rollout controller's integration tests share: for the file, one
 * redis-server and one Prometheus scraping the exporter `startExporter` starts, ready once
 * `readyQuery` has data; for each test, a key prefix of its own from `prefixStem`, a webhook
 * receiver, and cleanup (its replicas stopped, its keys deleted). Call it inside `describe`.
 */
export function useRolloutRig<E extends ScrapedExporter>(options: {
  prefixStem: string;
  startExporter: () => Promise<E>;
  /** A query that answers once Prometheus holds samples enough for the checks to judge. */
  readyQuery: string;
}): RolloutRig<E> {
  let replicas: RolloutReplica[] = [];
  let scraped: ExporterUnderPrometheus<E> | undefined;
  // The file's redis-server and the test's own client on it; Prometheus and the exporter stop first.
  const redis = useRedisServer(async () => {
    await scraped?.stop();
  });
  // The handles are set by the hooks below, so a test reads them once its hooks have run, as it
  // would read variables its own beforeAll had set.
  const rig = {
    get redisServer() {
      return redis.redisServer;
    },
    get admin() {
      return redis.redis;
    },
    replica: async (splits, tuning = {}) => {
      const replica = await createRolloutReplica({
        redisUrl: rig.redisServer.url,
        prefix: rig.prefix,
        splits,
        prometheusUrl: rig.prometheus.url,
        prometheusTimeoutMs: 800,
        leaseTtlMs: 1_500,
        tickMs: 100,
        notifierTimeoutMs: 1_000,
        notifierRetryDelayMs: 50,
        ...tuning,
      });
      replicas.push(replica);
      return replica;
    },
    readState: async () =>
      (
        await new RolloutStateStore({
          redis: rig.admin,
          stateKey: createKeys(rig.prefix).rollout,
          leaseKey: rolloutLeaseKey(rig.prefix),
        }).read('council')
      )?.state,
    weights: () => rig.admin.hgetall(createKeys(rig.prefix).weights('council')),
    waitForStatus: (status, timeoutMs) =>
      waitUntil(
        `rollout status ${status}`,
        async () => {
          const state = await rig.readState();
          return state?.status === status && state.applied;
        },
        timeoutMs,
        50,
      ),
  } as Writable<RolloutRig<E>>;

  beforeAll(async () => {
    scraped = await startScrapedExporter(options.startExporter, options.readyQuery);
    rig.exporter = scraped.exporter;
    rig.prometheus = scraped.prometheus;
  }, 40_000);

  beforeEach(async () => {
    rig.prefix = uniquePrefix(options.prefixStem);
    replicas = [];
    rig.receiver = await startWebhookReceiver();
  });

  afterEach(async () => {
    for (const r of replicas) await r.stop();
    await rig.receiver.stop();
    const own = await rig.admin.keys(`${rig.prefix}*`);
    if (own.length > 0) await rig.admin.del(...own);
  });

  return rig;
}
