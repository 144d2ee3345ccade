import { INITIAL_CHECK_STATE } from '../../src/rollout/analysis/check-evaluation';
import type { RolloutState } from '../../src/rollout/plan/rollout-state';

/** A progressing rollout of council at its first step (5 %), with a failing p95 check. */
export function rolloutStateOf(over: Partial<RolloutState> = {}): RolloutState {
  return {
    split: 'council',
    status: 'progressing',
    step: 0,
    steps: [{ percent: 5, bakeTime: 1_000 }],
    applied: true,
    announce: null,
    basedOn: null,
    stepStartedAt: 1_000,
    bakedMs: 0,
    bakeMark: null,
    decideAfter: 1_000,
    version: null,
    startedAt: 1_000,
    startedBy: 'test',
    updatedAt: 1_000,
    finishedAt: null,
    reason: 'test',
    pausedBy: null,
    checks: { p95: { ...INITIAL_CHECK_STATE, verdict: 'fail', value: Infinity, threshold: 0.7 } },
    lastAnalysisAt: null,
    rollback: null,
    stableVersion: null,
    outbox: [],
    ...over,
  };
}

/**
 * The fields of a rollout that `actor` started at `at` and that has not moved since: its first
 * step, the decision clock and the record all begin then. Spread into `rolloutStateOf`.
 */
export function startedAt(
  at: number,
  actor: string,
): Pick<
  RolloutState,
  'stepStartedAt' | 'decideAfter' | 'startedAt' | 'updatedAt' | 'startedBy' | 'reason'
> {
  return {
    stepStartedAt: at,
    decideAfter: at,
    startedAt: at,
    updatedAt: at,
    startedBy: actor,
    reason: `started by ${actor}`,
  };
}

/** Steps at `percents`, each baking `bakeTime` ms, as a plan resolves them. */
export function stepsOf(percents: number[], bakeTime: number): RolloutState['steps'] {
  return percents.map((percent) => ({ percent, bakeTime }));
}
