import type { Comparator, NoDataPolicy } from '../../config/rollout-plan-schema';

/**
 * What one check says about the canary right now.
 * - pass: no breach.
 * - pending: breaching, but not yet for the check's whole `for` window (an alert rule's pending).
 * - fail: breaching for at least `for`: the rollout rolls back.
 * - inconclusive: the check cannot tell (no data with onNoData: pause, too few samples, or the
 *   query failed). It blocks promotion; at the end of a bake it pauses the rollout.
 */
export type Verdict = 'pass' | 'pending' | 'fail' | 'inconclusive';

/** One evaluation of a check's queries at time `at` (ms since the epoch). */
export type Observation =
  | {
      kind: 'value';
      at: number;
      /** The measured value (for a comparison check: the canary's). */
      value: number;
      /** What it is compared with (for a comparison check: factor × the stable's value). */
      threshold: number;
      /** Comparison checks only: the stable's own value. */
      stable?: number;
    }
  | { kind: 'no-data'; at: number }
  | { kind: 'too-few-samples'; at: number; samples: number; min: number }
  | { kind: 'error'; at: number; code: string; message: string };

/** A check's state, carried from one evaluation to the next (and stored in Redis). */
export interface CheckState {
  verdict: Verdict | 'unknown';
  value: number | null;
  threshold: number | null;
  stable: number | null;
  /** When the current uninterrupted breach was first observed; null when not breaching. */
  breachSince: number | null;
  evaluatedAt: number | null;
  /** Why the verdict is what it is, for people. */
  reason: string;
  /** Consecutive evaluations whose query failed (0 after any answer, with data or not). */
  errors: number;
}

/** What evaluation needs to know of a check. */
export interface CheckRule {
  comparator: Comparator;
  /** ms */
  for: number;
  onNoData: NoDataPolicy;
}

export const INITIAL_CHECK_STATE: CheckState = {
  verdict: 'unknown',
  value: null,
  threshold: null,
  stable: null,
  breachSince: null,
  evaluatedAt: null,
  reason: 'not evaluated yet',
  errors: 0,
};

/** `value <comparator> threshold`. NaN never compares true. */
export function compare(value: number, comparator: Comparator, threshold: number): boolean {
  switch (comparator) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
  }
}

/**
 * The value of several series that is closest to breaching: the largest when the breach is
 * "above", the smallest when it is "below". Undefined when there is none.
 */
export function worstOf(values: number[], comparator: Comparator): number | undefined {
  if (values.length === 0) return undefined;
  return comparator === '>' || comparator === '>=' ? Math.max(...values) : Math.min(...values);
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(4)));
}

/** Seconds with at most one decimal: `3s`, `2.5s`. */
function fmtMs(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

/**
 * Folds one observation into a check's state, with the `for` semantics of a Prometheus alert
 * rule: a breach starts a pending window at the first breaching evaluation; the check fails at
 * the first evaluation at which the breach has held for `for` without interruption; any
 * evaluation that does not breach (or has no data, unless onNoData is fail) ends the window.
 * A failed query neither ends nor extends the window: it only makes the check inconclusive.
 */
export function observe(rule: CheckRule, prev: CheckState, obs: Observation): CheckState {
  const base = { value: null, threshold: null, stable: null, evaluatedAt: obs.at, errors: 0 };
  const breaching = (
    state: Omit<CheckState, 'verdict' | 'breachSince' | 'reason'>,
    what: string,
  ): CheckState => {
    const since = prev.breachSince ?? obs.at;
    const held = obs.at - since;
    const failed = held >= rule.for;
    return {
      ...state,
      breachSince: since,
      verdict: failed ? 'fail' : 'pending',
      reason:
        rule.for === 0
          ? `${what}`
          : `${what} for ${fmtMs(held)} of ${fmtMs(rule.for)}${failed ? '' : ' (pending)'}`,
    };
  };

  switch (obs.kind) {
    case 'error':
      return {
        ...prev,
        verdict: 'inconclusive',
        evaluatedAt: obs.at,
        errors: (prev.errors ?? 0) + 1,
        reason: `query failed (${obs.code}): ${obs.message}`,
      };
    case 'too-few-samples':
      return {
        ...base,
        verdict: 'inconclusive',
        breachSince: null,
        reason: `too few samples: ${fmt(obs.samples)} < ${fmt(obs.min)}`,
      };
    case 'no-data':
      if (rule.onNoData === 'fail') return breaching(base, 'no data (onNoData: fail)');
      if (rule.onNoData === 'ignore') {
        return { ...base, verdict: 'pass', breachSince: null, reason: 'no data (ignored)' };
      }
      return { ...base, verdict: 'inconclusive', breachSince: null, reason: 'no data' };
    case 'value': {
      const state = {
        ...base,
        value: obs.value,
        threshold: obs.threshold,
        stable: obs.stable ?? null,
      };
      if (compare(obs.value, rule.comparator, obs.threshold)) {
        return breaching(state, `${fmt(obs.value)} ${rule.comparator} ${fmt(obs.threshold)}`);
      }
      return {
        ...state,
        verdict: 'pass',
        breachSince: null,
        reason: `${fmt(obs.value)} is within ${fmt(obs.threshold)}`,
      };
    }
  }
}

/** The state after a whole history of observations, oldest first. */
export function evaluateHistory(rule: CheckRule, history: Observation[]): CheckState {
  return history.reduce((state, obs) => observe(rule, state, obs), INITIAL_CHECK_STATE);
}
