import { Registry, collectDefaultMetrics } from 'prom-client';
import { metricDeclarer } from './metric-declarer';

/**
 * Every metric the service exports, created on an injected registry so each app instance (and each
 * test) reads its own. Names take `prefix` (METRICS_PREFIX, default `swarm_` as in the guide).
 */
export function createMetrics(registry: Registry, prefix: string) {
  const { gauge, counter, histogram } = metricDeclarer(registry, (s) => `${prefix}${s}`);
  return {
    registry,
    canaryTrafficPercentage: gauge(
      'canary_traffic_percentage',
      'Share of a split served to each backend, 0-100, as Traefik is being told.',
      ['split', 'backend'],
    ),
    deploymentVersion: gauge(
      'deployment_version',
      'Always 1; the labels carry the version deployed behind each backend.',
      ['split', 'backend', 'version'],
    ),
    rollbackEvents: counter(
      'rollback_events_total',
      'Changes that took a canary from above 0 to 0, by what triggered them.',
      ['split', 'trigger'],
    ),
    weightChanges: counter(
      'weight_changes_total',
      'Weight changes recorded in the audit trail, by source.',
      ['split', 'source'],
    ),
    providerResponses: counter(
      'provider_responses_total',
      'Answers to GET /traefik, by HTTP status.',
      ['status'],
    ),
    staleServes: counter(
      'provider_stale_serves_total',
      'Answers to GET /traefik that served the last good body because Redis was unreachable.',
    ),
    redisErrors: counter(
      'provider_redis_errors_total',
      'Redis operations that failed, by operation.',
      ['operation'],
    ),
    invalidWeights: counter(
      'provider_invalid_weights_total',
      'Changes of stored weights that were rejected as invalid (the split kept its last valid weights).',
      ['split'],
    ),
    splitValid: gauge(
      'provider_split_valid',
      '1 when the weights stored for a split are valid, 0 while it serves its last valid weights.',
      ['split'],
    ),
    renderDuration: histogram(
      'provider_render_duration_seconds',
      'Time to render and serialize the Traefik configuration after a change.',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    ),
    configStale: gauge(
      'provider_config_stale',
      '1 while Redis is unreachable and the last good configuration is served.',
    ),
    lastRefresh: gauge(
      'provider_last_refresh_timestamp_seconds',
      'Unix time of the last successful read of the weights from Redis.',
    ),
    propagationSeconds: histogram(
      'provider_propagation_seconds',
      'Seconds from a weight write to every listed Traefik showing it applied.',
      [0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 13, 21, 34],
    ),
    traefikApplied: gauge(
      'provider_traefik_applied',
      '1 when a Traefik instance shows the weights being served for a split, else 0.',
      ['split', 'traefik'],
    ),
    heldPolls: gauge(
      'provider_held_polls',
      'Polls of GET /traefik?watch= held until the configuration changes.',
    ),
    heldPollRelease: histogram(
      'provider_held_poll_release_seconds',
      'Seconds from a change noticed in Redis to the last held poll answered with it.',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
    openReads: counter(
      'open_reads_total',
      'API reads made without the admin token, by outcome: served at once, queued, or refused (503) over OPEN_READ_CONCURRENCY + OPEN_READ_QUEUE.',
      ['outcome'],
    ),
    holdWarnings: counter(
      'provider_hold_warnings_total',
      'Polls whose spacing shows a Traefik setting that defeats the hold, by reason.',
      ['reason'],
    ),
  };
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
