import type { SplitConfig } from '../../config/splits';
import type { ChangeAction, Weights } from '../../store/types';
import {
  INITIAL_CHECK_STATE,
  observe,
  type CheckState,
  type Observation,
} from '../analysis/check-evaluation';
import type { TransitionKind } from '../notifications/notifier';
import type { RolloutPlan } from '../../config/rollout-plan-schema';
import { canaryPercentOf, decide, servesPercent } from './rollout-decisions';
import { RolloutConflictError } from './rollout-conflict-error';
import { isActive, targetPercent, type RollbackTrigger, type RolloutState } from './rollout-state';
import { checkRule } from '../analysis/traefik-checks';

/**
 * Every rollout transition as a pure function of (state, observation): the new state, the weights
 * to write with it (if any) and the transition to announce (if any). The controller and the API
 * apply a result as one atomic, fenced write; nothing here does I/O.
 */

/** A split's weights as the provider validates them, read just now. */
export interface WeightsView {
  /** Null when Redis holds weights the split cannot serve (`problems` says why). */
  weights: Weights | null;
  etag: string;
  problems: string[];
}

export interface WeightsWrite {
  /** Canary share to write; the stable gets the rest, other backends 0. */
  percent: number;
  action: ChangeAction;
  /**
   * True: written only if the weights are still those the transition was decided on (an
   * operator's change in between wins). A rollback is unconditional: it is always written.
   */
  conditional: boolean;
}

export interface Transition {
  state: RolloutState;
  write?: WeightsWrite;
  notify?: TransitionKind;
}

export interface TransitionContext {
  split: SplitConfig;
  plan: RolloutPlan;
  now: number;
  /** Who acts: the controller's identity or the operator's actor name. */
  actor: string;
}

/** What the controller saw in one tick: the weights now, and the check results if it analysed. */
export interface TickObservation {
  weights: WeightsView;
  /** One per plan check, in plan order, when an analysis ran this tick. */
  analysis?: Observation[];
}

const EXTERNAL = '(API, canaryctl or redis-cli)';

function withChecks(
  plan: RolloutPlan,
  prev: Record<string, CheckState>,
  observations: Observation[],
): Record<string, CheckState> {
  const checks: Record<string, CheckState> = {};
  plan.checks.forEach((check, i) => {
    checks[check.name] = observe(
      checkRule(check),
      prev[check.name] ?? INITIAL_CHECK_STATE,
      observations[i],
    );
  });
  return checks;
}

/** A new step (or a resumed one) bakes from zero, on fresh check results only. */
function freshStep(now: number): Partial<RolloutState> {
  return { stepStartedAt: now, bakedMs: 0, bakeMark: now, decideAfter: now };
}

/**
 * Someone else changed the weights: they win. A canary at 0 % was rolled back by hand; anything
 * else pauses the rollout at its last applied step. Nothing is written to the weights.
 */
export function operatorChange(
  ctx: TransitionContext,
  state: RolloutState,
  weights: Weights,
  when: string,
): Transition {
  const { split, now } = ctx;
  const step =
    !state.applied && state.announce === 'promoted' ? Math.max(0, state.step - 1) : state.step;
  const common = { applied: true, announce: null, basedOn: null, updatedAt: now };
  if ((weights[split.canary] ?? 0) === 0) {
    const reason = `the canary was set to 0% outside the rollout ${when} ${EXTERNAL}`;
    return {
      state: {
        ...state,
        ...common,
        step,
        status: 'rolled_back',
        pausedBy: null,
        reason,
        finishedAt: now,
        rollback: {
          trigger: 'external',
          actor: 'external',
          at: now,
          reason,
          check: null,
          value: null,
          threshold: null,
        },
      },
      notify: 'rolled_back',
    };
  }
  const percent = canaryPercentOf(split, weights);
  const want = state.steps[step].percent;
  const reason = `the weights were changed outside the rollout ${when} ${EXTERNAL}: canary at ${percent}% instead of ${want}%; resume applies step ${step + 1} (${want}%), abort rolls back`;
  return {
    state: { ...state, ...common, step, status: 'paused', pausedBy: 'external', reason },
    notify: 'paused',
  };
}

function invalidWeights(
  ctx: TransitionContext,
  state: RolloutState,
  view: WeightsView,
): Transition {
  const step =
    !state.applied && state.announce === 'promoted' ? Math.max(0, state.step - 1) : state.step;
  return {
    state: {
      ...state,
      step,
      status: 'paused',
      pausedBy: 'invalid',
      applied: true,
      announce: null,
      basedOn: null,
      updatedAt: ctx.now,
      reason: `the stored weights are invalid (${view.problems.join('; ')}); the split serves its last valid weights. Fix them, then resume`,
    },
    notify: 'paused',
  };
}

/** Rolled back, by analysis unless `by` names the operator who aborted. */
function rollBack(
  ctx: TransitionContext,
  state: RolloutState,
  reason: string,
  check: { name: string; state: CheckState } | null,
  by: { trigger: RollbackTrigger; actor: string } = { trigger: 'analysis', actor: ctx.actor },
): Transition {
  return {
    state: {
      ...state,
      status: 'rolled_back',
      applied: true,
      announce: null,
      basedOn: null,
      pausedBy: null,
      reason,
      updatedAt: ctx.now,
      finishedAt: ctx.now,
      rollback: {
        trigger: by.trigger,
        actor: by.actor,
        at: ctx.now,
        reason,
        check: check?.name ?? null,
        value: check?.state.value ?? null,
        threshold: check?.state.threshold ?? null,
      },
    },
    write: { percent: 0, action: 'rollback', conditional: false },
    notify: 'rolled_back',
  };
}

/** Applies a transition an operator recorded (start, promote, resume, or a pending rollback). */
function applyPending(ctx: TransitionContext, state: RolloutState, view: WeightsView): Transition {
  const { split, now } = ctx;
  if (state.status === 'rolled_back' || state.status === 'finalised') {
    // Always written, whatever the weights are or seem to be: idempotent and never skipped.
    return {
      state: {
        ...state,
        applied: true,
        announce: null,
        basedOn: null,
        updatedAt: now,
        finishedAt: now,
      },
      write: {
        percent: 0,
        action: state.status === 'rolled_back' ? 'rollback' : 'promote',
        conditional: false,
      },
      notify: state.announce ?? undefined,
    };
  }
  if (view.weights === null) return invalidWeights(ctx, state, view);
  const percent = targetPercent(state);
  // Weights that already serve the target are this transition applied (say, by a leader whose
  // reply was lost), not someone's change.
  const served = servesPercent(split, view.weights, percent);
  if (!served && state.basedOn !== null && state.basedOn !== view.etag) {
    const what =
      state.status === 'completed'
        ? 'completion'
        : `step ${state.step + 1} (${state.steps[state.step].percent}%)`;
    return operatorChange(ctx, state, view.weights, `before ${what} was applied`);
  }
  const next: RolloutState = {
    ...state,
    applied: true,
    announce: null,
    basedOn: null,
    pausedBy: null,
    updatedAt: now,
    ...(state.status === 'completed' ? { finishedAt: now } : freshStep(now)),
  };
  return {
    state: next,
    ...(!served && {
      write: {
        percent,
        action: state.status === 'completed' ? 'promote' : 'rollout',
        conditional: true,
      },
    }),
    notify: state.announce ?? undefined,
  };
}

/**
 * One controller tick for one split (level-triggered): compares the weights Redis holds now with
 * what the rollout state wants, and decides from that alone. Null when nothing changes.
 */
export function reconcile(
  ctx: TransitionContext,
  state: RolloutState,
  obs: TickObservation,
): Transition | null {
  const { split, plan, now } = ctx;
  if (!state.applied) return applyPending(ctx, state, obs.weights);
  if (!isActive(state)) return null;

  const view = obs.weights;
  const want = state.steps[state.step].percent;
  if (view.weights !== null && !servesPercent(split, view.weights, want)) {
    if (state.status === 'paused' && (view.weights[split.canary] ?? 0) > 0) return null;
    return operatorChange(ctx, state, view.weights, 'during the rollout');
  }

  let next = state;
  if (obs.analysis) {
    const at = Math.max(...obs.analysis.map((o) => o.at), 0);
    const checks = withChecks(plan, state.checks, obs.analysis);
    next = { ...state, checks, lastAnalysisAt: at, updatedAt: now };
    const failed = plan.checks.find((c) => checks[c.name].verdict === 'fail');
    if (failed) {
      const s = checks[failed.name];
      return rollBack(ctx, next, `check ${failed.name} failed: ${s.reason}`, {
        name: failed.name,
        state: s,
      });
    }
    if (next.status === 'progressing') {
      const errored = plan.checks.filter(
        (c) => checks[c.name].errors >= plan.consecutiveErrorLimit,
      );
      if (errored.length > 0) {
        const what = `${errored.map((c) => c.name).join(', ')}: ${plan.consecutiveErrorLimit} analyses in a row could not query Prometheus (${checks[errored[0].name].reason})`;
        if (plan.onAnalysisError === 'rollback')
          return rollBack(ctx, next, `analysis failed for ${what}`, null);
        return {
          state: {
            ...next,
            status: 'paused',
            pausedBy: 'analysis-errors',
            reason: `analysis failed for ${what}; resume when Prometheus answers, abort rolls back`,
          },
          notify: 'paused',
        };
      }
      // Only time that ends in a conclusive analysis bakes the step.
      const conclusive = plan.checks.every((c) =>
        ['pass', 'pending'].includes(checks[c.name].verdict),
      );
      const mark = next.bakeMark ?? next.stepStartedAt ?? at;
      next = {
        ...next,
        bakedMs: conclusive ? next.bakedMs + Math.max(0, at - mark) : next.bakedMs,
        bakeMark: Math.max(mark, at),
      };
    }
  }
  if (view.weights === null) {
    if (next.status === 'paused' && next.pausedBy === 'invalid')
      return next === state ? null : { state: next };
    return invalidWeights(ctx, next, view);
  }
  if (next.status !== 'progressing') return next === state ? null : { state: next };

  const decision = decide(plan, next, now);
  switch (decision.kind) {
    case 'promote':
      return {
        state: {
          ...next,
          step: next.step + 1,
          reason: decision.reason,
          updatedAt: now,
          ...freshStep(now),
        },
        write: { percent: next.steps[next.step + 1].percent, action: 'rollout', conditional: true },
        notify: 'promoted',
      };
    case 'complete':
      return {
        state: {
          ...next,
          status: 'completed',
          reason: decision.reason,
          updatedAt: now,
          finishedAt: now,
        },
        ...(!servesPercent(split, view.weights, 100) && {
          write: { percent: 100, action: 'promote' as const, conditional: true },
        }),
        notify: 'completed',
      };
    case 'pause':
      return {
        state: {
          ...next,
          status: 'paused',
          pausedBy: 'inconclusive',
          reason: decision.reason,
          updatedAt: now,
        },
        notify: 'paused',
      };
    case 'wait':
    case 'await-promotion':
      return next === state ? null : { state: next };
  }
}

// ---- What operators do (API, canaryctl). Each is recorded at once; the controller applies
// ---- start, promote and resume at its next tick, on the weights they were based on.

export interface OperatorRequest {
  actor: string;
  source: 'api' | 'cli';
  reason?: string;
}

function requireActive(state: RolloutState | null, name: string, verb: string): RolloutState {
  if (!state || !isActive(state)) {
    throw new RolloutConflictError(
      state
        ? `the rollout of "${name}" is ${state.status.replace('_', ' ')}: nothing to ${verb}; start a new one`
        : `split "${name}" has no rollout: nothing to ${verb}; start one first`,
    );
  }
  return state;
}

function requireValid(view: WeightsView, name: string, verb: string): Weights {
  if (view.weights === null) {
    throw new RolloutConflictError(
      `cannot ${verb} the rollout of "${name}": its stored weights are invalid (${view.problems.join('; ')}); fix them first`,
    );
  }
  return view.weights;
}

export function start(
  ctx: TransitionContext,
  prev: RolloutState | null,
  view: WeightsView,
  op: OperatorRequest & { version: string | null },
): Transition {
  const { split, plan, now } = ctx;
  if (prev && isActive(prev)) {
    throw new RolloutConflictError(
      `a rollout of "${split.name}" is already ${prev.status} (step ${prev.step + 1}/${prev.steps.length}); abort it or let it finish first`,
    );
  }
  if (prev && !prev.applied) {
    throw new RolloutConflictError(
      `the last rollout of "${split.name}" is still applying ${targetPercent(prev)}% (${prev.status.replace('_', ' ')}); try again in a moment`,
    );
  }
  const weights = requireValid(view, split.name, 'start');
  const serving = canaryPercentOf(split, weights);
  const first = plan.steps[0].percent;
  if (serving > first) {
    throw new RolloutConflictError(
      prev?.status === 'completed'
        ? `the canary of "${split.name}" still serves ${serving}% since the last rollout completed: redeploy the stable backend with version ${prev.version ?? 'the canary runs'}, then finalise (POST …/rollout/finalise) before starting another`
        : `the canary of "${split.name}" serves ${serving}%, more than the first step (${first}%): starting would move traffic back to the stable at once; set the canary to ${first}% or less first`,
    );
  }
  return {
    state: {
      split: split.name,
      status: 'progressing',
      step: 0,
      steps: plan.steps.map((s) => ({ ...s })),
      applied: false,
      announce: 'started',
      basedOn: view.etag,
      stepStartedAt: null,
      bakedMs: 0,
      bakeMark: null,
      decideAfter: now,
      version: op.version,
      startedAt: now,
      startedBy: op.actor,
      updatedAt: now,
      finishedAt: null,
      reason: op.reason ?? `started by ${op.actor}`,
      pausedBy: null,
      checks: {},
      lastAnalysisAt: null,
      rollback: null,
      stableVersion: prev?.stableVersion ?? null,
      outbox: prev?.outbox ?? [],
    },
  };
}

export function pause(
  ctx: TransitionContext,
  prev: RolloutState | null,
  op: OperatorRequest,
): Transition | null {
  const state = requireActive(prev, ctx.split.name, 'pause');
  if (state.status === 'paused') return null;
  return {
    state: {
      ...state,
      status: 'paused',
      pausedBy: 'operator',
      reason: op.reason ?? `paused by ${op.actor}`,
      updatedAt: ctx.now,
    },
    notify: 'paused',
  };
}

/** Resume records the weights it was based on: a change after it still stops the rollout. */
export function resume(
  ctx: TransitionContext,
  prev: RolloutState | null,
  view: WeightsView,
  op: OperatorRequest,
): Transition | null {
  const state = requireActive(prev, ctx.split.name, 'resume');
  if (state.status === 'progressing') return null;
  requireValid(view, ctx.split.name, 'resume');
  return {
    state: {
      ...state,
      status: 'progressing',
      pausedBy: null,
      applied: false,
      announce: null,
      basedOn: view.etag,
      decideAfter: ctx.now,
      reason: op.reason ?? `resumed by ${op.actor}`,
      updatedAt: ctx.now,
    },
    notify: 'resumed',
  };
}

export function promote(
  ctx: TransitionContext,
  prev: RolloutState | null,
  view: WeightsView,
  op: OperatorRequest,
): Transition {
  const state = requireActive(prev, ctx.split.name, 'promote');
  if (!state.applied) {
    throw new RolloutConflictError(
      `the rollout of "${ctx.split.name}" is still applying ${targetPercent(state)}%; try again in a moment`,
    );
  }
  requireValid(view, ctx.split.name, 'promote');
  const last = state.step + 1 >= state.steps.length;
  return {
    state: {
      ...state,
      ...(last
        ? { status: 'completed' as const, announce: 'completed' as const }
        : { status: 'progressing' as const, step: state.step + 1, announce: 'promoted' as const }),
      applied: false,
      basedOn: view.etag,
      pausedBy: null,
      reason: op.reason ?? `promoted by ${op.actor}`,
      updatedAt: ctx.now,
    },
  };
}

/** Rolls back at once: the write is made by the caller, unconditionally. */
export function abort(
  ctx: TransitionContext,
  prev: RolloutState | null,
  op: OperatorRequest,
): Transition {
  const state = requireActive(prev, ctx.split.name, 'abort');
  const reason = op.reason ?? `aborted by ${op.actor}`;
  return rollBack(ctx, state, reason, null, { trigger: op.source, actor: op.actor });
}

/**
 * After a completed rollout, once the stable backend was redeployed with the new version: the
 * stable serves 100 % again and is recorded as running that version. Written at once, on the
 * weights read (a concurrent change makes it fail, not overwrite).
 */
export function finalise(
  ctx: TransitionContext,
  prev: RolloutState | null,
  view: WeightsView,
  op: OperatorRequest,
): Transition {
  const name = ctx.split.name;
  if (!prev || prev.status !== 'completed' || !prev.applied) {
    throw new RolloutConflictError(
      prev
        ? `the rollout of "${name}" is ${prev.status.replace('_', ' ')}${prev.status === 'completed' ? ' but not applied yet' : ''}: only a completed rollout can be finalised`
        : `split "${name}" has no rollout: nothing to finalise`,
    );
  }
  requireValid(view, name, 'finalise');
  return {
    state: {
      ...prev,
      status: 'finalised',
      applied: true,
      announce: null,
      basedOn: null,
      stableVersion: prev.version,
      reason:
        op.reason ??
        `finalised by ${op.actor}: the stable runs ${prev.version ?? 'the new version'}`,
      updatedAt: ctx.now,
      finishedAt: ctx.now,
    },
    write: { percent: 0, action: 'promote', conditional: true },
    notify: 'finalised',
  };
}
