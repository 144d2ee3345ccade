import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The rollout controller's own metrics, on the injected registry. `swarm_rollback_events_total`
 * and `swarm_weight_changes_total` stay in createMetrics (src/metrics): they count every writer.
 */
export function createRolloutMetrics(registry: Registry, prefix: string) {
  const n = (s: string) => `${prefix}rollout_${s}`;
  return {
    leader: new Gauge({
      name: n('leader'),
      help: '1 while this replica holds the rollout lease and runs rollouts, else 0.',
      registers: [registry],
    }),
    step: new Gauge({
      name: n('step'),
      help: '1-based step of the rollout of each split, as the leader last saw it.',
      labelNames: ['split'] as const,
      registers: [registry],
    }),
    status: new Gauge({
      name: n('status'),
      help: '1 for the status the rollout of each split is in, 0 for the others (leader only).',
      labelNames: ['split', 'status'] as const,
      registers: [registry],
    }),
    transitions: new Counter({
      name: n('transitions_total'),
      help: 'Rollout transitions announced by this replica, by kind.',
      labelNames: ['split', 'transition'] as const,
      registers: [registry],
    }),
    checkValue: new Gauge({
      name: n('check_value'),
      help: 'Last value of each rollout check (for a comparison: the canary value).',
      labelNames: ['split', 'check'] as const,
      registers: [registry],
    }),
    checkEvaluations: new Counter({
      name: n('check_evaluations_total'),
      help: 'Evaluations of rollout checks, by verdict.',
      labelNames: ['split', 'check', 'verdict'] as const,
      registers: [registry],
    }),
    analysisDuration: new Histogram({
      name: n('analysis_duration_seconds'),
      help: 'Time to run every check of a split once against Prometheus.',
      labelNames: ['split'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    prometheusErrors: new Counter({
      name: n('prometheus_errors_total'),
      help: 'Check queries that failed, by error code (PROM_UNREACHABLE, PROM_TIMEOUT, ...).',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    notifications: new Counter({
      name: n('notifications_total'),
      help: 'Rollout notifications by target kind and final outcome (after retries).',
      labelNames: ['split', 'target', 'outcome'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: n('errors_total'),
      help: 'Controller iterations that failed (Redis unreachable, corrupt state, ...), by code.',
      labelNames: ['split', 'code'] as const,
      registers: [registry],
    }),
  };
}

export type RolloutMetrics = ReturnType<typeof createRolloutMetrics>;
