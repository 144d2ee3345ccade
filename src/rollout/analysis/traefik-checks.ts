import type { SplitConfig } from '../../config/splits';
import { childServiceName } from '../../traefik/render';
import type { CheckRule, Observation } from './check-evaluation';
import { formatDuration } from '../../shared/duration';
import type { Comparator, RolloutCheck, TraefikCheck } from '../../config/rollout-plan-schema';

/**
 * Built-in checks over the metrics Traefik itself exports per service (with
 * `metrics.prometheus.addServicesLabels` on): `traefik_service_requests_total{service,code}` and
 * `traefik_service_request_duration_seconds_bucket{service,le}`. The queries are built from the
 * backend's Traefik service name, so a rollout needs no instrumentation in the application.
 */

/** The Traefik service names of a split's canary and stable backends. */
export interface TraefikServices {
  stable: string;
  canary: string;
}

/** The queries of one backend: the measured value and its request count over the window. */
export interface BackendQueries {
  value: string;
  requests: string;
}

/** Every query a built-in check runs; `stable` only with `compareTo: stable`. */
export interface TraefikCheckQueries {
  canary: BackendQueries;
  stable?: BackendQueries;
}

/**
 * The name Traefik's metrics give a backend: `<split>-<backend>@http` for servers we define
 * (our provider is Traefik's `http` provider), the referenced name for a `service:` backend,
 * qualified with `@http` when it names no provider (Traefik resolves it in ours).
 */
export function traefikServiceName(split: SplitConfig, backend: string): string {
  const name = childServiceName(split, backend);
  return name.includes('@') ? name : `${name}@http`;
}

export function traefikServicesOf(split: SplitConfig): TraefikServices {
  return {
    stable: traefikServiceName(split, split.stable),
    canary: traefikServiceName(split, split.canary),
  };
}

/** A PromQL double-quoted string literal. */
function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function backendQueries(check: TraefikCheck, service: string): BackendQueries {
  const svc = `service=${quote(service)}`;
  const w = formatDuration(check.window);
  const requests = `sum(increase(traefik_service_requests_total{${svc}}[${w}]))`;
  if (check.metric === 'success-rate') {
    return {
      value:
        `100 * sum(rate(traefik_service_requests_total{${svc},code!~"5.."}[${w}]))` +
        ` / sum(rate(traefik_service_requests_total{${svc}}[${w}]))`,
      requests,
    };
  }
  return {
    value:
      `histogram_quantile(${check.quantile}, sum by (le) ` +
      `(rate(traefik_service_request_duration_seconds_bucket{${svc}}[${w}])))`,
    requests,
  };
}

/** The exact PromQL a built-in check runs. Pure. */
export function traefikCheckQueries(
  check: TraefikCheck,
  services: TraefikServices,
): TraefikCheckQueries {
  return {
    canary: backendQueries(check, services.canary),
    ...(check.compareTo === 'stable' && { stable: backendQueries(check, services.stable) }),
  };
}

/**
 * The breach condition: a success rate breaches below its bound, a latency above it. Latency
 * values and bounds are in seconds, as Traefik's histogram is.
 */
export function traefikComparator(check: TraefikCheck): Comparator {
  return check.metric === 'success-rate' ? '<' : '>';
}

/** What evaluation needs of any check: built-in checks have a fixed breach direction. */
export function checkRule(check: RolloutCheck): CheckRule {
  return {
    comparator: check.type === 'traefik' ? traefikComparator(check) : check.comparator,
    for: check.for,
    onNoData: check.onNoData,
  };
}

/** One backend's answers: NaN or undefined when Prometheus had nothing. */
export interface BackendResult {
  value: number | undefined;
  requests: number;
}

const hasValue = (n: number | undefined): n is number => n !== undefined && !Number.isNaN(n);

/**
 * Turns the answers into an observation. Fewer than `minRequests` requests to the canary (or,
 * with `compareTo: stable`, to either backend) in the window is inconclusive: too few samples.
 * The bound is `min` / `max` on its own, or `factor` × the stable's value with `compareTo`.
 */
export function judgeTraefik(
  check: TraefikCheck,
  at: number,
  canary: BackendResult,
  stable?: BackendResult,
): Observation {
  const compared = check.compareTo === 'stable';
  const samples = compared && stable ? Math.min(canary.requests, stable.requests) : canary.requests;
  if (samples < check.minRequests) {
    return { kind: 'too-few-samples', at, samples, min: check.minRequests };
  }
  if (!hasValue(canary.value)) return { kind: 'no-data', at };
  if (compared) {
    if (!stable || !hasValue(stable.value)) return { kind: 'no-data', at };
    return {
      kind: 'value',
      at,
      value: canary.value,
      threshold: (check.factor ?? 1) * stable.value,
      stable: stable.value,
    };
  }
  const threshold = check.metric === 'success-rate' ? (check.min ?? 0) : (check.max ?? 0) / 1000;
  return { kind: 'value', at, value: canary.value, threshold };
}
