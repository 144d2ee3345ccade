import { startMetricsApp, type MetricsAppHandle, type Variant } from './metrics-app';
import type { PrometheusHandle } from '../../scripts/lib/prometheus-process';
import { startScrapedExporter } from './scraped-exporter';

/** The guide's latency signal: p95 of one variant over `window`. */
export function p95Query(variant: Variant | string, window = '5s'): string {
  return `histogram_quantile(0.95, sum by (le) (rate(swarm_council_request_duration_seconds_bucket{variant="${variant}"}[${window}])))`;
}

/** How many requests of one variant the council served over `window`: a check's sample count. */
export function requestCountQuery(variant: Variant | string, window = '5s'): string {
  return `sum(increase(swarm_council_request_duration_seconds_count{variant="${variant}"}[${window}]))`;
}

/**
 * The guide's latency check, as splits.yaml declares it: the canary's p95 over `window` above
 * `threshold` seconds (0.7 unless given), for `for` when given.
 */
export function p95LatencyCheck(
  options: { window?: string; threshold?: number; for?: string } = {},
): Record<string, unknown> {
  return {
    name: 'p95-latency',
    type: 'threshold',
    query: p95Query('canary', options.window),
    comparator: '>',
    threshold: options.threshold ?? 0.7,
    ...(options.for === undefined ? {} : { for: options.for }),
  };
}

export interface CouncilMetrics {
  app: MetricsAppHandle;
  prometheus: PrometheusHandle;
  stop(): Promise<void>;
}

/**
 * A council exporter with both variants healthy at `latency` seconds, scraped by a real Prometheus,
 * returned once Prometheus has canary samples.
 */
export async function startCouncilMetrics(latency = 0.1): Promise<CouncilMetrics> {
  const { exporter, prometheus, stop } = await startScrapedExporter(
    () => startMetricsApp({ main: { rps: 50, latency }, canary: { rps: 50, latency } }),
    'swarm_council_request_duration_seconds_count{variant="canary"}',
  );
  return { app: exporter, prometheus, stop };
}
