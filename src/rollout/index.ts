import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { SplitsConfig } from '../config/splits';
import { ConfigError } from '../errors';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import { createKeys } from '../store/keys';
import type { ReplicaAcks } from '../store/replica-acks';
import type { WeightsStore } from '../store/weights-store';
import { rolloutLeaseKey } from './engine/lease-key';
import { NotificationOutbox } from './engine/notification-outbox';
import { Notifier } from './notifications/notifier';
import { PrometheusClient, type PromQuerier } from './analysis/prometheus-client';
import { RolloutController } from './engine/rollout-controller';
import { RolloutExecutor } from './engine/rollout-executor';
import { createRolloutMetrics, type RolloutMetrics } from './engine/rollout-metrics';
import { RolloutService } from './engine/rollout-service';
import { RolloutStateStore } from './plan/rollout-state-store';

export { rolloutPlanSchema, type RolloutPlan } from '../config/rollout-plan-schema';
export type { RolloutStatusView } from './plan/rollout-status';
export { formatProgressLine } from './plan/rollout-status';

export interface RolloutsOptions {
  /** A command connection (not a subscriber) for the rollout states and their transitions. */
  redis: Redis;
  /** The lease's own connection (default `redis`), so nothing queued ahead delays a renewal. */
  leaseRedis?: Redis;
  /** Where the open API's status reads go (default `redis`). */
  openReadRedis?: Redis;
  keyPrefix: string;
  splits: SplitsConfig;
  store: Pick<WeightsStore, 'read'>;
  registry: Registry;
  metricsPrefix: string;
  /** createMetrics' counters that every writer shares. */
  metrics: Pick<Metrics, 'rollbackEvents' | 'weightChanges'>;
  log: Logger;
  /** Approximate cap of each split's audit stream (AUDIT_STREAM_MAXLEN). */
  auditMaxLen?: number;
  /** Replicas that must confirm each rollout write (REDIS_WRITE_REPLICAS). */
  acks?: ReplicaAcks;
  /** PROMETHEUS_URL. Required when any plan has checks. */
  prometheusUrl?: string;
  /** Or a querier of your own (tests). */
  prometheus?: PromQuerier;
  prometheusTimeoutMs?: number;
  identity?: string;
  leaseTtlMs?: number;
  tickMs?: number;
  notifierTimeoutMs?: number;
  notifierMaxAttempts?: number;
  notifierRetryDelayMs?: number;
  /** How long a replica waits before retrying an undelivered notification. Default 10000. */
  outboxRetryDelayMs?: number;
  now?: () => number;
}

export interface Rollouts {
  service: RolloutService;
  controller: RolloutController;
  notifier: Notifier;
  outbox: NotificationOutbox;
  metrics: RolloutMetrics;
  /** The split's rollout for its status: `{rollout}`, or nothing without a plan or a rollout. */
  describe(split: string): Promise<Record<string, unknown>>;
  /** Starts the controller (it acts only while it holds the lease). */
  start(): void;
  /** Stops the controller, gives the lease up, waits for notifications in flight. */
  stop(): Promise<void>;
}

const NO_PROMETHEUS: PromQuerier = {
  query: () => Promise.reject(new Error('no Prometheus configured')),
};

/**
 * Wires rollouts: Prometheus client, notifier, metrics, state store, controller, API service.
 * Fails fast (ConfigError) when a plan has checks but PROMETHEUS_URL is unset.
 */
export function createRollouts(options: RolloutsOptions): Rollouts {
  const withChecks = options.splits.splits.filter((s) => (s.rollout?.checks.length ?? 0) > 0);
  if (!options.prometheus && !options.prometheusUrl && withChecks.length > 0) {
    throw new ConfigError(
      `the rollout plans of ${withChecks.map((s) => `"${s.name}"`).join(', ')} have checks: set PROMETHEUS_URL to the Prometheus they query`,
    );
  }
  const log = options.log.child({ component: 'rollouts' });
  const keys = createKeys(options.keyPrefix);
  const leaseKey = rolloutLeaseKey(options.keyPrefix);
  const metrics = createRolloutMetrics(options.registry, options.metricsPrefix);
  const ownClient = options.prometheusUrl
    ? new PrometheusClient({ url: options.prometheusUrl, timeoutMs: options.prometheusTimeoutMs })
    : undefined;
  const prometheus = options.prometheus ?? ownClient ?? NO_PROMETHEUS;
  const notifier = new Notifier({
    log: log.child({ component: 'notifier' }),
    timeoutMs: options.notifierTimeoutMs,
    maxAttempts: options.notifierMaxAttempts,
    retryDelayMs: options.notifierRetryDelayMs,
    onOutcome: (split, target, outcome) => metrics.notifications.inc({ split, target, outcome }),
  });
  const states = new RolloutStateStore({
    redis: options.redis,
    stateKey: keys.rollout,
    leaseKey,
    weightsKey: keys.weights,
    eventsKey: keys.events,
    recordedKey: keys.recorded,
    auditMaxLen: options.auditMaxLen,
    acks: options.acks,
  });
  const statusStates = options.openReadRedis
    ? new RolloutStateStore({
        redis: options.openReadRedis,
        stateKey: keys.rollout,
        leaseKey,
        weightsKey: keys.weights,
        eventsKey: keys.events,
        recordedKey: keys.recorded,
      })
    : states;
  const outbox = new NotificationOutbox({
    splits: options.splits,
    states,
    notifier,
    log: log.child({ component: 'notification-outbox' }),
    retryDelayMs: options.outboxRetryDelayMs,
    onGiveUp: (split) => metrics.notifications.inc({ split, target: 'any', outcome: 'given_up' }),
    now: options.now,
  });
  const executor = new RolloutExecutor({
    splits: options.splits,
    store: options.store,
    states,
    outbox,
    metrics: options.metrics,
    rolloutMetrics: metrics,
    log,
  });
  const controller = new RolloutController({
    redis: options.leaseRedis ?? options.redis,
    leaseKey,
    splits: options.splits,
    executor,
    states,
    outbox,
    prometheus,
    metrics,
    log,
    identity: options.identity,
    leaseTtlMs: options.leaseTtlMs,
    tickMs: options.tickMs,
    now: options.now,
  });
  const service = new RolloutService({
    splits: options.splits,
    states,
    statusStates,
    executor,
    leaseHolder: () =>
      options.openReadRedis ? options.openReadRedis.get(leaseKey) : controller.lease.holder(),
    now: options.now,
  });
  return {
    service,
    controller,
    notifier,
    outbox,
    metrics,
    describe: async (split) => {
      if (!options.splits.byName.get(split)?.rollout) return {};
      try {
        return { rollout: await service.status(split) };
      } catch {
        return {}; // no rollout yet, or Redis away: the status says the rest
      }
    },
    start: () => controller.start(),
    stop: async () => {
      await controller.stop();
      await outbox.drain();
      await notifier.close();
      await ownClient?.close();
    },
  };
}
