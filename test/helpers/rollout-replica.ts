import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { SplitsConfig } from '../../src/config/splits';
import { createLogger, type Logger } from '../../src/log/logger';
import { createMetrics } from '../../src/metrics/metrics';
import { createRollouts, type Rollouts, type RolloutsOptions } from '../../src/rollout';
import { createRedis } from '../../src/store/redis-client';
import { WeightsStore } from '../../src/store/weights-store';

/** What a test tunes of a replica's rollouts: timings, identity, Prometheus, clock. */
export type ReplicaTuning = Omit<
  RolloutsOptions,
  'redis' | 'keyPrefix' | 'splits' | 'store' | 'registry' | 'metricsPrefix' | 'metrics' | 'log'
>;

export type RolloutReplicaOptions = {
  redisUrl: string;
  prefix: string;
  splits: SplitsConfig;
  /** The connection's name (CLIENT LIST). */
  connectionName?: string;
  log?: Logger;
} & ReplicaTuning;

export interface RolloutReplica {
  rollouts: Rollouts;
  registry: Registry;
  /** The replica's own connection. */
  redis: Redis;
  store: WeightsStore;
  /** Stops the rollouts (releasing the lease) and drops the connection, once however often called. */
  stop(): Promise<void>;
  /** As a SIGKILL would: the loops stop, the lease is not released, the connection drops. */
  kill(): Promise<void>;
}

/**
 * One replica's rollouts wired as the service wires them (createRollouts on a store of its own),
 * on a connection of its own under `prefix`, with metrics in a registry of its own. The controller
 * is not started: the test starts it, or ticks it with `controller.runOnce()`.
 */
export async function createRolloutReplica(
  options: RolloutReplicaOptions,
): Promise<RolloutReplica> {
  const { redisUrl, prefix, splits, connectionName, log: given, ...tuning } = options;
  const redis = createRedis(redisUrl, connectionName ?? 'replica');
  redis.on('error', () => undefined);
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  const registry = new Registry();
  const log = given ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const store = new WeightsStore({ redis, keyPrefix: prefix, splits, log });
  const rollouts = createRollouts({
    redis,
    keyPrefix: prefix,
    splits,
    store,
    registry,
    metricsPrefix: 'swarm_',
    metrics: createMetrics(registry, 'swarm_'),
    log,
    ...tuning,
  });
  let gone = false;
  return {
    rollouts,
    registry,
    redis,
    store,
    stop: async () => {
      if (gone) return;
      gone = true;
      await rollouts.stop();
      redis.disconnect();
    },
    kill: async () => {
      if (gone) return;
      gone = true;
      await rollouts.controller.halt();
      await rollouts.notifier.close();
      redis.disconnect();
    },
  };
}
