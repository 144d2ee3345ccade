import type { SplitConfig } from '../../config/splits';
import type { Weights } from '../../store/types';
import type { CheckState } from '../analysis/check-evaluation';
import { formatDuration } from '../../shared/duration';
import type { RolloutCheck, RolloutPlan } from '../../config/rollout-plan-schema';
import type { RolloutState } from './rollout-state';

/** The weights that give the canary `percent` % and the stable the rest; other backends get 0. */
export function weightsFor(split: SplitConfig, percent: number): Weights {
  const weights: Weights = {};
  for (const b of split.backends) weights[b.name] = 0;
  weights[split.stable] = 100 - percent;
  weights[split.canary] = percent;
  return weights;
}

/** True when `weights` serve exactly `percent` % to the canary and the rest to the stable. */
export function servesPercent(split: SplitConfig, weights: Weights, percent: number): boolean {
  const sum = Object.values(weights).reduce((a, b) => a + b, 0);
  if (sum <= 0) return false;
  return (
    (weights[split.canary] ?? 0) * 100 === percent * sum &&
    (weights[split.stable] ?? 0) * 100 === (100 - percent) * sum
  );
}

/** The canary's share of `weights` in percent, rounded to two decimals. */
export function canaryPercentOf(split: SplitConfig, weights: Weights): number {
  const sum = Object.values(weights).reduce((a, b) => a + b, 0);
  return sum <= 0 ? 0 : Math.round(((weights[split.canary] ?? 0) / sum) * 10_000) / 100;
}

export type Decision =
  | { kind: 'wait'; why: string }
  | { kind: 'await-promotion' }
  | { kind: 'promote'; reason: string }
  | { kind: 'complete'; reason: string }
  | { kind: 'pause'; reason: string };

function checkStates(
  plan: RolloutPlan,
  state: RolloutState,
): [RolloutCheck, CheckState | undefined][] {
  return plan.checks.map((c) => [c, state.checks[c.name]]);
}

/**
 * How long the current step has baked. With checks, only time that ended in a conclusive analysis
 * counts (Prometheus away or no data does not bake a step); without checks, the time since the
 * step was applied or resumed.
 */
export function bakedOf(plan: RolloutPlan, state: RolloutState, now: number): number {
  if (state.stepStartedAt === null) return 0;
  return plan.checks.length === 0 ? Math.max(0, now - state.stepStartedAt) : state.bakedMs;
}

/**
 * What a progressing, applied rollout does next, given the latest check states. Pure.
 *
 * A step moves on when it has baked for its bake time and every check has been evaluated since
 * the step began (or since a resume) and passes. A check still inconclusive at that point pauses
 * the rollout: the step could not be shown healthy. A pending breach waits: it ends in a pass or a
 * rollback. A failed check never reaches here: the analysis rolls back first.
 */
export function decide(plan: RolloutPlan, state: RolloutState, now: number): Decision {
  if (state.status !== 'progressing' || !state.applied || state.stepStartedAt === null) {
    return { kind: 'wait', why: 'not progressing' };
  }
  const bake = state.steps[state.step].bakeTime;
  // The step's time is up by the clock; it has baked only if that time was conclusive.
  if (now - state.stepStartedAt < bake) return { kind: 'wait', why: 'baking' };

  const checks = checkStates(plan, state);
  const stale = checks.filter(
    ([, s]) => !s || s.evaluatedAt === null || s.evaluatedAt < state.decideAfter,
  );
  if (stale.length > 0)
    return { kind: 'wait', why: `waiting for a fresh evaluation of ${stale[0][0].name}` };

  const inconclusive = checks.filter(([, s]) => s?.verdict === 'inconclusive');
  if (inconclusive.length > 0) {
    return {
      kind: 'pause',
      reason: `inconclusive after the bake of step ${state.step + 1}: ${inconclusive
        .map(([c, s]) => `${c.name} (${s?.reason ?? 'unknown'})`)
        .join(', ')}`,
    };
  }
  const baked = bakedOf(plan, state, now);
  if (baked < bake) return { kind: 'wait', why: 'baking (only conclusive analysis counts)' };
  const notPassing = checks.filter(([, s]) => s?.verdict !== 'pass');
  if (notPassing.length > 0)
    return { kind: 'wait', why: `${notPassing[0][0].name} is ${notPassing[0][1]?.verdict}` };

  if (!plan.autoPromote) return { kind: 'await-promotion' };
  const passed =
    plan.checks.length === 0 ? 'no checks configured' : `all ${plan.checks.length} checks passed`;
  const reason = `step ${state.step + 1} baked ${formatDuration(baked)}; ${passed}`;
  return state.step + 1 >= state.steps.length
    ? { kind: 'complete', reason }
    : { kind: 'promote', reason };
}
