import { worstOf, type Observation } from './check-evaluation';
import type {
  ComparisonCheck,
  RolloutCheck,
  ThresholdCheck,
  TraefikCheck,
} from '../../config/rollout-plan-schema';
import { PrometheusError } from './prometheus-error';
import type { PromQuerier, PromSample } from './prometheus-client';
import {
  judgeTraefik,
  traefikCheckQueries,
  type BackendQueries,
  type BackendResult,
  type TraefikServices,
} from './traefik-checks';

/** The names the placeholders of a comparison query become. */
export interface Variants {
  stable: string;
  canary: string;
}

/** Replaces {{backend}} and {{variant}} (with optional inner spaces) by `value`. */
export function fillTemplate(query: string, value: string): string {
  return query.replace(/\{\{\s*(backend|variant)\s*\}\}/g, value);
}

/** NaN is what PromQL gives for "no traffic" (0/0, a quantile of nothing): it is no data. */
function numbers(samples: PromSample[]): number[] {
  return samples.map((s) => s.value).filter((v) => !Number.isNaN(v));
}

async function runThreshold(
  check: ThresholdCheck,
  prom: PromQuerier,
  at: number,
): Promise<Observation> {
  const value = worstOf(numbers(await prom.query(check.query, at)), check.comparator);
  if (value === undefined) return { kind: 'no-data', at };
  return { kind: 'value', at, value, threshold: check.threshold };
}

async function runComparison(
  check: ComparisonCheck,
  prom: PromQuerier,
  at: number,
  variants: Variants,
): Promise<Observation> {
  const stableName = check.variants?.stable ?? variants.stable;
  const canaryName = check.variants?.canary ?? variants.canary;
  const q = (template: string, name: string) => prom.query(fillTemplate(template, name), at);
  const [canary, stable, canaryCount, stableCount] = await Promise.all([
    q(check.query, canaryName),
    q(check.query, stableName),
    check.minSamples ? q(check.minSamples.query, canaryName) : undefined,
    check.minSamples ? q(check.minSamples.query, stableName) : undefined,
  ]);
  if (check.minSamples && canaryCount && stableCount) {
    // The smaller side decides: too few requests on either makes the comparison meaningless.
    const samples = Math.min(
      numbers(canaryCount).reduce((a, b) => a + b, 0),
      numbers(stableCount).reduce((a, b) => a + b, 0),
    );
    if (samples < check.minSamples.min) {
      return { kind: 'too-few-samples', at, samples, min: check.minSamples.min };
    }
  }
  const canaryValue = worstOf(numbers(canary), check.comparator);
  // The stable side is compared at its best for the canary: the least strict bound.
  const stableValue = worstOf(numbers(stable), check.comparator);
  if (canaryValue === undefined || stableValue === undefined) return { kind: 'no-data', at };
  return {
    kind: 'value',
    at,
    value: canaryValue,
    threshold: check.factor * stableValue,
    stable: stableValue,
  };
}

async function runTraefik(
  check: TraefikCheck,
  prom: PromQuerier,
  at: number,
  services: TraefikServices,
): Promise<Observation> {
  const queries = traefikCheckQueries(check, services);
  const measure = async (q: BackendQueries): Promise<BackendResult> => {
    const [value, requests] = await Promise.all([
      prom.query(q.value, at),
      prom.query(q.requests, at),
    ]);
    return {
      value: numbers(value)[0],
      requests: numbers(requests).reduce((a, b) => a + b, 0),
    };
  };
  const [canary, stable] = await Promise.all([
    measure(queries.canary),
    queries.stable ? measure(queries.stable) : undefined,
  ]);
  return judgeTraefik(check, at, canary, stable);
}

/**
 * Runs one check's queries and turns the answers into an observation. Never throws: a failed
 * query is an `error` observation (the check is inconclusive, the rollout does not move).
 * `services` are the Traefik service names of the backends, for the built-in checks.
 */
export async function runCheck(
  check: RolloutCheck,
  prom: PromQuerier,
  at: number,
  variants: Variants,
  services: TraefikServices = variants,
): Promise<Observation> {
  try {
    switch (check.type) {
      case 'threshold':
        return await runThreshold(check, prom, at);
      case 'comparison':
        return await runComparison(check, prom, at, variants);
      case 'traefik':
        return await runTraefik(check, prom, at, services);
    }
  } catch (err) {
    if (err instanceof PrometheusError)
      return { kind: 'error', at, code: err.code, message: err.message };
    return {
      kind: 'error',
      at,
      code: 'CHECK_FAILED',
      message: err instanceof Error ? err.message : String(err),
    };
  }
}
