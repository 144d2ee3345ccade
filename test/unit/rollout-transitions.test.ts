import type { SplitConfig, SplitsConfig } from '../../src/config/splits';
import type { Observation } from '../../src/rollout/analysis/check-evaluation';
import { createLogger } from '../../src/log/logger';
import { NotificationOutbox } from '../../src/rollout/engine/notification-outbox';
import { createRolloutPlanSchema, type RolloutPlan } from '../../src/config/rollout-plan-schema';
import type { RolloutState } from '../../src/rollout/plan/rollout-state';
import type { RolloutStateStore } from '../../src/rollout/plan/rollout-state-store';
import {
  abort,
  finalise,
  pause,
  promote,
  reconcile,
  resume,
  start,
  type TransitionContext,
  type WeightsView,
} from '../../src/rollout/plan/rollout-transitions';
import { rolloutStateOf, startedAt, stepsOf } from '../helpers/rollout-state';

const split = {
  name: 'council',
  stable: 'main',
  canary: 'canary',
  backends: [{ name: 'canary' }, { name: 'main' }],
  defaultWeights: { canary: 0, main: 100 },
} as unknown as SplitConfig;

const T0 = 1_700_000_000_000;
const MIN = 60_000;

function planOf(over: Record<string, unknown> = {}): RolloutPlan {
  return createRolloutPlanSchema(() => ({})).parse({
    steps: [5, 25, 50, 100],
    bakeTime: '10m',
    analysisInterval: '1m',
    checks: [
      { name: 'vram', type: 'threshold', query: 'q', comparator: '>', threshold: 9.8e9 },
      {
        name: 'errors',
        type: 'threshold',
        query: 'q',
        comparator: '>',
        threshold: 0.02,
        for: '2m',
      },
    ],
    ...over,
  });
}

function ctxOf(plan = planOf(), now = T0): TransitionContext {
  return { split, plan, now, actor: 'controller-a' };
}

/** Weights as the provider validates them; the ETag is the text, enough to tell them apart. */
function view(canary: number, main = 100 - canary): WeightsView {
  return { weights: { canary, main }, etag: `"c${canary}m${main}"`, problems: [] };
}
const INVALID: WeightsView = {
  weights: null,
  etag: '"bad"',
  problems: ['every weight is 0: Traefik would answer 503 to every request'],
};

/** A rollout of council just started at its first step, no check evaluated yet. */
const stateOf = (over: Partial<RolloutState> = {}): RolloutState =>
  rolloutStateOf({
    ...startedAt(T0, 'alice'),
    steps: stepsOf([5, 25, 50, 100], 10 * MIN),
    bakeMark: T0,
    version: '2.0.0',
    checks: {},
    ...over,
  });

/**
 * A promotion to `step` that was decided on the weights serving `decidedOn` % and recorded, but
 * not yet applied: what a controller leaves between deciding and writing.
 */
const pendingPromotion = (step: number, decidedOn: number): RolloutState =>
  stateOf({ step, applied: false, announce: 'promoted', basedOn: view(decidedOn).etag });

const value = (at: number, v: number, threshold: number): Observation => ({
  kind: 'value',
  at,
  value: v,
  threshold,
});
const healthy = (at: number): Observation[] => [value(at, 5e9, 9.8e9), value(at, 0.001, 0.02)];
const failedQueries = (at: number): Observation[] => [
  { kind: 'error', at, code: 'PROM_UNREACHABLE', message: 'connect ECONNREFUSED' },
  { kind: 'error', at, code: 'PROM_UNREACHABLE', message: 'connect ECONNREFUSED' },
];

describe('rollback: recorded, announced and written together', () => {
  it('when the first step was just applied and vram is already above 9.8 GB, then the rollback writes 0 % unconditionally', () => {
    const t = reconcile(ctxOf(planOf(), T0 + 1_000), stateOf(), {
      weights: view(5),
      analysis: [value(T0 + 1_000, 10.2e9, 9.8e9), value(T0 + 1_000, 0, 0.02)],
    });
    expect(t?.state.status).toBe('rolled_back');
    expect(t?.state.rollback).toMatchObject({ trigger: 'analysis', check: 'vram', value: 10.2e9 });
    expect(t?.write).toEqual({ percent: 0, action: 'rollback', conditional: false });
    expect(t?.notify).toBe('rolled_back');
  });

  it('when a pending rollback meets weights that already serve 0 %, then it is still written', () => {
    const pending = stateOf({ status: 'rolled_back', applied: false, announce: 'rolled_back' });
    const t = reconcile(ctxOf(), pending, { weights: view(0) });
    expect(t?.write).toEqual({ percent: 0, action: 'rollback', conditional: false });
    expect(t?.state).toMatchObject({ applied: true, status: 'rolled_back' });
    expect(t?.notify).toBe('rolled_back');
  });

  it('when an operator aborts, then the rollback is written with the state and announced', () => {
    const t = abort(ctxOf(), stateOf({ step: 2 }), { actor: 'bob', source: 'cli' });
    expect(t.write).toEqual({ percent: 0, action: 'rollback', conditional: false });
    expect(t.state.rollback).toMatchObject({ trigger: 'cli', actor: 'bob' });
  });
});

describe('level-triggered: decided on the weights Redis holds now', () => {
  it('when bakeTime is 0s and the step serves its share, then the step is promoted (not a false external change)', () => {
    const plan = planOf({ bakeTime: '0s' });
    const t = reconcile(ctxOf(plan, T0 + MIN), stateOf({ steps: plan.steps }), {
      weights: view(5),
      analysis: healthy(T0 + MIN),
    });
    expect(t?.state).toMatchObject({ status: 'progressing', step: 1 });
    expect(t?.write).toEqual({ percent: 25, action: 'rollout', conditional: true });
    expect(t?.notify).toBe('promoted');
  });

  it('when a pending promotion finds the weights already at its target, then it is applied, not external', () => {
    const t = reconcile(ctxOf(), pendingPromotion(1, 25), { weights: view(25) });
    expect(t?.write).toBeUndefined();
    expect(t?.state).toMatchObject({ status: 'progressing', step: 1, applied: true });
    expect(t?.notify).toBe('promoted');
  });

  it('when a promotion was applied in the same script as its state, then the next tick sees no change', () => {
    expect(reconcile(ctxOf(), stateOf({ step: 2 }), { weights: view(50) })).toBeNull();
  });
});

describe('operators win', () => {
  it('when the share is changed by hand during a step, then the rollout pauses and nothing is written', () => {
    const t = reconcile(ctxOf(), stateOf({ step: 2 }), { weights: view(10) });
    expect(t?.state).toMatchObject({ status: 'paused', pausedBy: 'external', step: 2 });
    expect(t?.state.reason).toContain('canary at 10% instead of 50%');
    expect(t?.write).toBeUndefined();
  });

  it('when the canary is set to 0 by hand, then the rollout is rolled back by the operator, not written over', () => {
    const t = reconcile(ctxOf(), stateOf({ step: 2 }), { weights: view(0) });
    expect(t?.state).toMatchObject({ status: 'rolled_back', rollback: { trigger: 'external' } });
    expect(t?.write).toBeUndefined();
  });

  it('when the canary is zeroed after a resume and before the next tick, then the resume is not applied', () => {
    const paused = stateOf({ step: 2, status: 'paused', pausedBy: 'operator' });
    const resumed = resume(ctxOf(), paused, view(50), { actor: 'bob', source: 'api' });
    expect(resumed?.state.basedOn).toBe(view(50).etag);
    const t = reconcile(ctxOf(), resumed!.state, { weights: view(0) });
    expect(t?.state.status).toBe('rolled_back');
    expect(t?.write).toBeUndefined();
  });

  it('when the share changes after a resume, then the rollout pauses at the step it was at', () => {
    const paused = stateOf({ step: 2, status: 'paused', pausedBy: 'operator' });
    const resumed = resume(ctxOf(), paused, view(50), { actor: 'bob', source: 'api' });
    const t = reconcile(ctxOf(), resumed!.state, { weights: view(30) });
    expect(t?.state).toMatchObject({ status: 'paused', pausedBy: 'external', step: 2 });
    expect(t?.write).toBeUndefined();
  });

  it('when a pending promotion meets changed weights, then it pauses at the last applied step, never moving traffic back', () => {
    const t = reconcile(ctxOf(), pendingPromotion(2, 25), { weights: view(40) });
    expect(t?.state).toMatchObject({ status: 'paused', pausedBy: 'external', step: 1 });
    expect(t?.write).toBeUndefined();
  });

  it('when the weights already hold what a pending promotion wanted (its reply was lost), then it is applied, not external', () => {
    const t = reconcile(ctxOf(), pendingPromotion(2, 25), { weights: view(50) });
    expect(t?.state).toMatchObject({ status: 'progressing', step: 2, applied: true });
    expect(t?.write).toBeUndefined();
    expect(t?.notify).toBe('promoted');
  });

  it('when the stored weights are invalid during a rollout, then it pauses and never writes over them', () => {
    const t = reconcile(ctxOf(), stateOf({ step: 3, bakedMs: 20 * MIN }), {
      weights: INVALID,
      analysis: healthy(T0 + MIN),
    });
    expect(t?.state).toMatchObject({ status: 'paused', pausedBy: 'invalid' });
    expect(t?.state.reason).toContain('every weight is 0');
    expect(t?.write).toBeUndefined();
    expect(reconcile(ctxOf(), t!.state, { weights: INVALID })).toBeNull();
  });

  it('when a pending completion meets invalid weights, then it pauses instead of writing 100 %', () => {
    const pending = stateOf({
      step: 3,
      status: 'completed',
      applied: false,
      announce: 'completed',
      basedOn: INVALID.etag,
    });
    const t = reconcile(ctxOf(), pending, { weights: INVALID });
    expect(t?.state.status).toBe('paused');
    expect(t?.write).toBeUndefined();
  });
});

describe('analysis errors and the bake clock', () => {
  function run(state: RolloutState, observations: Observation[][], plan = planOf()) {
    let s = state;
    let last = null as ReturnType<typeof reconcile>;
    for (const analysis of observations) {
      const at = analysis[0].at;
      last = reconcile(ctxOf(plan, at), s, { weights: view(s.steps[s.step].percent), analysis });
      if (last) s = last.state;
    }
    return { state: s, last };
  }

  it('when Prometheus fails 4 analyses in a row, then the rollout pauses and says why', () => {
    const { state, last } = run(
      stateOf(),
      [1, 2, 3, 4].map((i) => failedQueries(T0 + i * MIN)),
    );
    expect(state).toMatchObject({ status: 'paused', pausedBy: 'analysis-errors' });
    expect(state.reason).toContain('4 analyses in a row could not query Prometheus');
    expect(last?.notify).toBe('paused');
  });

  it('when the plan says so, then 4 failed analyses roll back', () => {
    const plan = planOf({ onAnalysisError: 'rollback' });
    const { state, last } = run(
      stateOf(),
      [1, 2, 3, 4].map((i) => failedQueries(T0 + i * MIN)),
      plan,
    );
    expect(state.status).toBe('rolled_back');
    expect(last?.write).toEqual({ percent: 0, action: 'rollback', conditional: false });
  });

  it('when Prometheus was down for most of the bake, then one good analysis does not promote', () => {
    const down = [1, 2, 3].map((i) => failedQueries(T0 + i * MIN));
    const { state, last } = run(stateOf(), [...down, healthy(T0 + 11 * MIN)]);
    expect(state).toMatchObject({ status: 'progressing', step: 0 });
    expect(state.bakedMs).toBe(8 * MIN);
    expect(last?.write).toBeUndefined();
  });

  it('when every analysis of the bake is conclusive, then the step promotes at its bake time', () => {
    const { state, last } = run(
      stateOf(),
      Array.from({ length: 10 }, (_, i) => healthy(T0 + (i + 1) * MIN)),
    );
    expect(state.step).toBe(1);
    expect(last?.notify).toBe('promoted');
  });

  it('when a paused rollout is resumed, then the bake restarts from zero at the resume', () => {
    const paused = stateOf({ status: 'paused', pausedBy: 'operator', bakedMs: 9 * MIN });
    const resumed = resume(ctxOf(planOf(), T0 + 60 * MIN), paused, view(5), {
      actor: 'bob',
      source: 'api',
    });
    const applied = reconcile(ctxOf(planOf(), T0 + 61 * MIN), resumed!.state, {
      weights: view(5),
    });
    expect(applied?.state).toMatchObject({
      applied: true,
      bakedMs: 0,
      stepStartedAt: T0 + 61 * MIN,
    });
    expect(applied?.write).toBeUndefined();
  });
});

describe('completion and finalisation', () => {
  it('when the last step completes, then the canary serves 100 % and the state says to finalise', () => {
    const plan = planOf({ checks: [], steps: [5, 25, 50] });
    const t = reconcile(ctxOf(plan, T0 + 10 * MIN), stateOf({ step: 2, steps: plan.steps }), {
      weights: view(50),
    });
    expect(t?.state.status).toBe('completed');
    expect(t?.write).toEqual({ percent: 100, action: 'promote', conditional: true });
    const at100 = planOf({ checks: [] });
    const done = reconcile(ctxOf(at100, T0 + 10 * MIN), stateOf({ step: 3, steps: at100.steps }), {
      weights: view(100, 0),
    });
    expect(done?.state.status).toBe('completed');
    expect(done?.write).toBeUndefined();
  });

  it('when a new rollout starts while the canary serves 100 % after a completion, then 409 says to finalise', () => {
    const completed = stateOf({ step: 3, status: 'completed', finishedAt: T0 });
    expect(() =>
      start(ctxOf(), completed, view(100, 0), { actor: 'alice', source: 'api', version: '2.1' }),
    ).toThrow(/still serves 100% .*finalise/);
  });

  it('when a rollout starts while the canary serves more than the first step, then 409 says why', () => {
    expect(() =>
      start(ctxOf(), null, view(40), { actor: 'alice', source: 'api', version: null }),
    ).toThrow(/serves 40%, more than the first step \(5%\)/);
  });

  it('when a completed rollout is finalised, then the stable serves 100 % and runs the new version', () => {
    const completed = stateOf({ step: 3, status: 'completed', finishedAt: T0 });
    const t = finalise(ctxOf(), completed, view(100, 0), { actor: 'alice', source: 'cli' });
    expect(t.write).toEqual({ percent: 0, action: 'promote', conditional: true });
    expect(t.state).toMatchObject({ status: 'finalised', stableVersion: '2.0.0' });
    expect(t.notify).toBe('finalised');
    const next = start(ctxOf(), t.state, view(0), {
      actor: 'alice',
      source: 'api',
      version: '2.1',
    });
    expect(next.state).toMatchObject({ status: 'progressing', stableVersion: '2.0.0' });
  });

  it('when finalise comes before completion, then it is refused', () => {
    expect(() =>
      finalise(ctxOf(), stateOf({ step: 2 }), view(50), { actor: 'a', source: 'api' }),
    ).toThrow(/only a completed rollout can be finalised/);
  });
});

describe('operator commands', () => {
  it('when paused twice, then the second changes nothing; promote records what it was based on', () => {
    const p = pause(ctxOf(), stateOf(), { actor: 'bob', source: 'api' });
    expect(p?.state.status).toBe('paused');
    expect(pause(ctxOf(), p!.state, { actor: 'bob', source: 'api' })).toBeNull();
    const pr = promote(ctxOf(), stateOf(), view(5), { actor: 'bob', source: 'api' });
    expect(pr.state).toMatchObject({ step: 1, applied: false, basedOn: view(5).etag });
  });
});

describe('pending transitions', () => {
  it('when a resumed rollout is paused again before the controller applied it, then applying it keeps it paused and unfinished', () => {
    const resumed = resume(ctxOf(), stateOf({ status: 'paused', pausedBy: 'operator' }), view(5), {
      actor: 'bob',
      source: 'api',
    });
    const paused = pause(ctxOf(), resumed!.state, { actor: 'bob', source: 'api' });
    const t = reconcile(ctxOf(), paused!.state, { weights: view(5) });
    expect(t?.state).toMatchObject({ status: 'paused', applied: true, finishedAt: null });
  });

  it('when a rollback is still pending, then a new rollout cannot start over it', () => {
    const pending = stateOf({ status: 'rolled_back', applied: false, announce: 'rolled_back' });
    expect(() =>
      start(ctxOf(), pending, view(0), { actor: 'a', source: 'api', version: null }),
    ).toThrow(/still applying 0%/);
  });
});

describe('notification outbox', () => {
  const splits = {
    file: 'splits.yaml',
    splits: [],
    byName: new Map([
      [
        'council',
        {
          ...split,
          rollout: planOf({
            notifications: { slack: ['http://127.0.0.1:1/s'], webhooks: ['http://127.0.0.1:1/h'] },
          }),
        },
      ],
    ]),
  } as unknown as SplitsConfig;
  const outbox = new NotificationOutbox({
    splits,
    states: {} as RolloutStateStore,
    notifier: { notify: () => Promise.resolve([]) },
    log: createLogger('silent'),
    maxPending: 3,
    now: () => T0,
  });

  it('when a transition is announced, then it waits in the state with an id stable per transition', () => {
    const s = outbox.enqueue(split, stateOf(), 'promoted', 7, 'controller-a');
    expect(s.outbox).toHaveLength(1);
    expect(s.outbox[0]).toMatchObject({
      id: `council:${T0}:7:promoted`,
      targets: ['slack:0', 'webhook:0'],
      attempts: 0,
    });
    expect(s.outbox[0].transition).toMatchObject({ id: `council:${T0}:7:promoted`, step: 1 });
  });

  it('when more are pending than the bound, then the oldest are given up', () => {
    let s = stateOf();
    for (let rev = 1; rev <= 5; rev++) s = outbox.enqueue(split, s, 'paused', rev, 'a');
    expect(s.outbox.map((p) => p.id)).toEqual([3, 4, 5].map((r) => `council:${T0}:${r}:paused`));
  });
});
