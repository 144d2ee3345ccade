import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the service exports, created on an injected registry so each app instance (and each
 * test) reads its own. Names take `prefix` (METRICS_PREFIX, default `swarm_` as in the guide).
 */
export function createMetrics(registry: Registry, prefix: string) {
  const m = <T>(make: (name: (s: string) => string) => T): T => make((s) => `${prefix}${s}`);
  return m((n) => ({
    registry,
    canaryTrafficPercentage: new Gauge({
      name: n('canary_traffic_percentage'),
      help: 'Share of a split served to each backend, 0-100, as Traefik is being told.',
      labelNames: ['split', 'backend'] as const,
      registers: [registry],
    }),
    deploymentVersion: new Gauge({
      name: n('deployment_version'),
      help: 'Always 1; the labels carry the version deployed behind each backend.',
      labelNames: ['split', 'backend', 'version'] as const,
      registers: [registry],
    }),
    rollbackEvents: new Counter({
      name: n('rollback_events_total'),
      help: 'Changes that took a canary from above 0 to 0, by what triggered them.',
      labelNames: ['split', 'trigger'] as const,
      registers: [registry],
    }),
    weightChanges: new Counter({
      name: n('weight_changes_total'),
      help: 'Weight changes recorded in the audit trail, by source.',
      labelNames: ['split', 'source'] as const,
      registers: [registry],
    }),
    providerResponses: new Counter({
      name: n('provider_responses_total'),
      help: 'Answers to GET /traefik, by HTTP status.',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    staleServes: new Counter({
      name: n('provider_stale_serves_total'),
      help: 'Answers to GET /traefik that served the last good body because Redis was unreachable.',
      registers: [registry],
    }),
    redisErrors: new Counter({
      name: n('provider_redis_errors_total'),
      help: 'Redis operations that failed, by operation.',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
    invalidWeights: new Counter({
      name: n('provider_invalid_weights_total'),
      help: 'Changes of stored weights that were rejected as invalid (the split kept its last valid weights).',
      labelNames: ['split'] as const,
      registers: [registry],
    }),
    splitValid: new Gauge({
      name: n('provider_split_valid'),
      help: '1 when the weights stored for a split are valid, 0 while it serves its last valid weights.',
      labelNames: ['split'] as const,
      registers: [registry],
    }),
    renderDuration: new Histogram({
      name: n('provider_render_duration_seconds'),
      help: 'Time to render and serialize the Traefik configuration after a change.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    configStale: new Gauge({
      name: n('provider_config_stale'),
      help: '1 while Redis is unreachable and the last good configuration is served.',
      registers: [registry],
    }),
    lastRefresh: new Gauge({
      name: n('provider_last_refresh_timestamp_seconds'),
      help: 'Unix time of the last successful read of the weights from Redis.',
      registers: [registry],
    }),
    propagationSeconds: new Histogram({
      name: n('provider_propagation_seconds'),
      help: 'Seconds from a weight write to every listed Traefik showing it applied.',
      buckets: [0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 13, 21, 34],
      registers: [registry],
    }),
    traefikApplied: new Gauge({
      name: n('provider_traefik_applied'),
      help: '1 when a Traefik instance shows the weights being served for a split, else 0.',
      labelNames: ['split', 'traefik'] as const,
      registers: [registry],
    }),
    heldPolls: new Gauge({
      name: n('provider_held_polls'),
      help: 'Polls of GET /traefik?watch= held until the configuration changes.',
      registers: [registry],
    }),
    heldPollRelease: new Histogram({
      name: n('provider_held_poll_release_seconds'),
      help: 'Seconds from a change noticed in Redis to the last held poll answered with it.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    openReads: new Counter({
      name: n('open_reads_total'),
      help: 'API reads made without the admin token, by outcome: served at once, queued, or refused (503) over OPEN_READ_CONCURRENCY + OPEN_READ_QUEUE.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    holdWarnings: new Counter({
      name: n('provider_hold_warnings_total'),
      help: 'Polls whose spacing shows a Traefik setting that defeats the hold, by reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
  }));
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Every `source` of swarm_weight_changes_total (the audit trail's change sources). */
export const WEIGHT_CHANGE_SOURCES = ['api', 'cli', 'controller', 'external'] as const;
/** Every `trigger` of swarm_rollback_events_total: a change source, or an automatic rollback. */
export const ROLLBACK_TRIGGERS = ['analysis', ...WEIGHT_CHANGE_SOURCES] as const;

/**
 * Creates every split x source and split x trigger counter series at 0. A series born on its first
 * increment has no earlier sample, so increase() and rate() see nothing: the first rollback after
 * each start would never fire an alert nor show on a dashboard.
 */
export function initSplitCounters(
  metrics: Pick<Metrics, 'rollbackEvents' | 'weightChanges'>,
  splitNames: Iterable<string>,
): void {
  for (const split of splitNames) {
    for (const source of WEIGHT_CHANGE_SOURCES) metrics.weightChanges.inc({ split, source }, 0);
    for (const trigger of ROLLBACK_TRIGGERS) metrics.rollbackEvents.inc({ split, trigger }, 0);
  }
}

/** A fresh registry with Node's default process metrics under the same prefix. */
export function createRegistry(prefix: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: `${prefix}provider_` });
  return registry;
}
