import type { SplitConfig } from '../../src/config/splits';
import { INITIAL_CHECK_STATE, type CheckState } from '../../src/rollout/analysis/check-evaluation';
import { createRolloutPlanSchema, type RolloutPlan } from '../../src/config/rollout-plan-schema';
import {
  canaryPercentOf,
  decide,
  servesPercent,
  weightsFor,
} from '../../src/rollout/plan/rollout-decisions';
import {
  stateFromJson,
  stateToJson,
  targetPercent,
  type RolloutState,
} from '../../src/rollout/plan/rollout-state';
import { describeRollout, leaderIdentity } from '../../src/rollout/plan/rollout-status';
import { rolloutStateOf, startedAt, stepsOf } from '../helpers/rollout-state';

const split: SplitConfig = {
  name: 'council',
  stable: 'main',
  canary: 'canary',
  backends: [{ name: 'canary' }, { name: 'main' }, { name: 'shadow' }],
  defaultWeights: { canary: 0, main: 100, shadow: 0 },
};

const T0 = 1_700_000_000_000;

function planOf(over: Record<string, unknown> = {}): RolloutPlan {
  return createRolloutPlanSchema(() => ({})).parse({
    steps: [5, 25, 100],
    bakeTime: '10s',
    analysisInterval: '1s',
    checks: [
      { name: 'p95', type: 'threshold', query: 'q', comparator: '>', threshold: 0.7, for: '3s' },
      { name: 'errors', type: 'threshold', query: 'q', comparator: '>', threshold: 0.02 },
    ],
    ...over,
  });
}

const check = (verdict: CheckState['verdict'], evaluatedAt = T0 + 10_000): CheckState => ({
  ...INITIAL_CHECK_STATE,
  verdict,
  evaluatedAt,
  reason: verdict === 'inconclusive' ? 'no data' : verdict,
});

/** A rollout of council at its first step, baked and passing both checks. */
const stateOf = (over: Partial<RolloutState> = {}): RolloutState =>
  rolloutStateOf({
    ...startedAt(T0, 'alice'),
    steps: stepsOf([5, 25, 100], 10_000),
    bakedMs: 10_000,
    bakeMark: T0 + 10_000,
    version: '1.5.0',
    checks: { p95: check('pass'), errors: check('pass') },
    lastAnalysisAt: T0 + 10_000,
    ...over,
  });

describe('weights of a step', () => {
  it('when a step is 25 %, then canary 25, stable 75, every other backend 0', () => {
    expect(weightsFor(split, 25)).toEqual({ canary: 25, main: 75, shadow: 0 });
    expect(weightsFor(split, 0)).toEqual({ canary: 0, main: 100, shadow: 0 });
    expect(weightsFor(split, 100)).toEqual({ canary: 100, main: 0, shadow: 0 });
  });

  it('when weights are scaled, then they still serve the same share', () => {
    expect(servesPercent(split, { canary: 1, main: 3, shadow: 0 }, 25)).toBe(true);
    expect(servesPercent(split, { canary: 1, main: 2, shadow: 1 }, 25)).toBe(false);
    expect(servesPercent(split, { canary: 26, main: 74, shadow: 0 }, 25)).toBe(false);
    expect(canaryPercentOf(split, { canary: 1, main: 2, shadow: 0 })).toBe(33.33);
  });
});

describe('decide', () => {
  const plan = planOf();

  it('when the step has not baked, then it waits', () => {
    expect(decide(plan, stateOf({ bakedMs: 9_999 }), T0 + 60_000).kind).toBe('wait');
  });

  it('when the step has baked and every check passes, then it promotes', () => {
    expect(decide(plan, stateOf(), T0 + 10_000)).toEqual({
      kind: 'promote',
      reason: 'step 1 baked 10s; all 2 checks passed',
    });
  });

  it('when the last step has baked and passes, then the rollout completes', () => {
    expect(decide(plan, stateOf({ step: 2 }), T0 + 10_000).kind).toBe('complete');
  });

  it('when a check was last evaluated before the step began, then it waits for a fresh result', () => {
    const state = stateOf({ checks: { p95: check('pass', T0 - 1), errors: check('pass') } });
    expect(decide(plan, state, T0 + 20_000)).toEqual({
      kind: 'wait',
      why: 'waiting for a fresh evaluation of p95',
    });
  });

  it('when a check is inconclusive after the bake, then the rollout pauses and says which', () => {
    const state = stateOf({ checks: { p95: check('inconclusive'), errors: check('pass') } });
    expect(decide(plan, state, T0 + 10_000)).toEqual({
      kind: 'pause',
      reason: 'inconclusive after the bake of step 1: p95 (no data)',
    });
  });

  it('when a check is inconclusive during the bake, then it only waits', () => {
    const state = stateOf({
      checks: { p95: check('inconclusive', T0 + 1_000), errors: check('pass') },
      bakedMs: 5_000,
    });
    expect(decide(plan, state, T0 + 5_000).kind).toBe('wait');
  });

  it('when a breach is pending after the bake, then it waits for the breach to end or fail', () => {
    const state = stateOf({ checks: { p95: check('pending'), errors: check('pass') } });
    expect(decide(plan, state, T0 + 10_000)).toEqual({ kind: 'wait', why: 'p95 is pending' });
  });

  it('when autoPromote is off, then a baked and passing step waits for a promote', () => {
    expect(decide(planOf({ autoPromote: false }), stateOf(), T0 + 10_000).kind).toBe(
      'await-promotion',
    );
  });

  it('when paused, or not yet applied, then nothing moves', () => {
    expect(decide(plan, stateOf({ status: 'paused' }), T0 + 60_000).kind).toBe('wait');
    expect(decide(plan, stateOf({ applied: false }), T0 + 60_000).kind).toBe('wait');
  });

  it('when the plan has no checks, then the bake alone decides', () => {
    expect(decide(planOf({ checks: [] }), stateOf({ checks: {} }), T0 + 10_000).kind).toBe(
      'promote',
    );
  });
});

describe('stored state and status view', () => {
  it('when a state with infinite values is stored, then it reads back the same', () => {
    const state = stateOf({
      checks: { p95: { ...check('fail'), value: Infinity, threshold: 0.7 } },
    });
    const back = stateFromJson(stateToJson(state));
    expect(back).toEqual({ state });
  });

  it('when the stored JSON is not a state, then the problems are named', () => {
    const back = stateFromJson(JSON.stringify({ ...stateOf(), status: 'running', step: 'x' }));
    expect('problems' in back && back.problems).toMatch(/status: .*; step: /);
  });

  it('when the rollout is progressing, then the status shows step i of n, bake elapsed and remaining', () => {
    const view = describeRollout(
      stateOf({ step: 1, bakedMs: 4_000 }),
      planOf(),
      T0 + 4_000,
      'replica-a:12',
    );
    expect(view).toMatchObject({
      status: 'progressing',
      step: 2,
      steps: 3,
      canaryPercent: 25,
      percentages: [5, 25, 100],
      bake: { elapsedMs: 4_000, remainingMs: 6_000, elapsed: '4s', remaining: '6s', total: '10s' },
      leader: 'replica-a:12',
      awaitingPromotion: false,
    });
    expect(view.checks.map((c) => [c.name, c.verdict, c.comparator, c.for])).toEqual([
      ['p95', 'pass', '>', '3s'],
      ['errors', 'pass', '>', '0s'],
    ]);
    expect(view.summary).toBe(
      'council 1.5.0: progressing, step 2/3 (25%), baked 4s of 10s, checks 2 pass',
    );
  });

  it('when rolled back by a check, then the summary and the record say which and why', () => {
    const state = stateOf({
      status: 'rolled_back',
      reason: 'check p95 failed: 0.93 > 0.7 for 3s of 3s',
      rollback: {
        trigger: 'analysis',
        actor: 'replica-a:12',
        at: T0 + 5_000,
        reason: 'check p95 failed: 0.93 > 0.7 for 3s of 3s',
        check: 'p95',
        value: 0.93,
        threshold: 0.7,
      },
    });
    expect(targetPercent(state)).toBe(0);
    const view = describeRollout(state, planOf(), T0 + 6_000, null);
    expect(view.bake).toBeNull();
    expect(view.rollback).toMatchObject({
      check: 'p95',
      value: 0.93,
      threshold: 0.7,
      trigger: 'analysis',
    });
    expect(view.summary).toBe(
      `council 1.5.0: rolled back to 0% at ${new Date(T0 + 5_000).toISOString()}: check p95 failed: 0.93 > 0.7 for 3s of 3s`,
    );
  });

  it('when the lease token is read, then the identity is what precedes the uuid', () => {
    expect(leaderIdentity('host-1:42/5d4c1a8e-0000-4000-8000-000000000000')).toBe('host-1:42');
    expect(leaderIdentity(null)).toBeNull();
  });
});
