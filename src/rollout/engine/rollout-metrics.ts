import type { Registry } from 'prom-client';
import { metricDeclarer } from '../../metrics/metric-declarer';

/**
 * The rollout controller's own metrics, on the injected registry. `swarm_rollback_events_total`
 * and `swarm_weight_changes_total` stay in createMetrics (src/metrics): they count every writer.
 */
export function createRolloutMetrics(registry: Registry, prefix: string) {
  const { gauge, counter, histogram } = metricDeclarer(registry, (s) => `${prefix}rollout_${s}`);
  return {
    leader: gauge(
      'leader',
      '1 while this replica holds the rollout lease and runs rollouts, else 0.',
    ),
    step: gauge('step', '1-based step of the rollout of each split, as the leader last saw it.', [
      'split',
    ]),
    status: gauge(
      'status',
      '1 for the status the rollout of each split is in, 0 for the others (leader only).',
      ['split', 'status'],
    ),
    transitions: counter(
      'transitions_total',
      'Rollout transitions announced by this replica, by kind.',
      ['split', 'transition'],
    ),
    checkValue: gauge(
      'check_value',
      'Last value of each rollout check (for a comparison: the canary value).',
      ['split', 'check'],
    ),
    checkEvaluations: counter(
      'check_evaluations_total',
      'Evaluations of rollout checks, by verdict.',
      ['split', 'check', 'verdict'],
    ),
    analysisDuration: histogram(
      'analysis_duration_seconds',
      'Time to run every check of a split once against Prometheus.',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ['split'],
    ),
    prometheusErrors: counter(
      'prometheus_errors_total',
      'Check queries that failed, by error code (PROM_UNREACHABLE, PROM_TIMEOUT, ...).',
      ['code'],
    ),
    notifications: counter(
      'notifications_total',
      'Rollout notifications by target kind and final outcome (after retries).',
      ['split', 'target', 'outcome'],
    ),
    errors: counter(
      'errors_total',
      'Controller iterations that failed (Redis unreachable, corrupt state, ...), by code.',
      ['split', 'code'],
    ),
  };
}

export type RolloutMetrics = ReturnType<typeof createRolloutMetrics>;
