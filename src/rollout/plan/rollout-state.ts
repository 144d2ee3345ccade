import { z } from 'zod';
import type { CheckState } from '../analysis/check-evaluation';
import type { RolloutTransition, TransitionKind } from '../notifications/notifier';

export const ROLLOUT_STATUSES = [
  'progressing',
  'paused',
  'rolled_back',
  'completed',
  'finalised',
] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export type PauseCause = 'inconclusive' | 'operator' | 'external' | 'invalid' | 'analysis-errors';
export type RollbackTrigger = 'analysis' | 'api' | 'cli' | 'external';

/** A notification not delivered yet to every target: kept in the state until then (bounded). */
export interface PendingNotification {
  /** Stable per transition (`<split>:<startedAt>:<revision>:<kind>`): receivers de-duplicate on it. */
  id: string;
  transition: RolloutTransition;
  /** Targets still to reach, as `slack:<i>` / `webhook:<i>` (indexes into the plan's lists). */
  targets: string[];
  attempts: number;
  /** Not retried before this time. */
  nextAt: number;
}

export interface RollbackRecord {
  trigger: RollbackTrigger;
  actor: string;
  at: number;
  reason: string;
  check: string | null;
  value: number | null;
  threshold: number | null;
}

/**
 * A split's rollout, as stored in Redis (`{prefix}rollout:{split}`). Times are ms since the epoch.
 *
 * The weights a rollout wants are a function of its status and step (the step's share while
 * progressing or paused, 0 % after a rollback, 100 % when completed); `applied` says whether they
 * have been written. Recording the intent before the write lets a replica that takes over after a
 * crash finish what its predecessor started.
 */
export interface RolloutState {
  split: string;
  status: RolloutStatus;
  /** Index into `steps`. */
  step: number;
  /** The plan's steps when the rollout started: a later change of splits.yaml does not move it. */
  steps: { percent: number; bakeTime: number }[];
  applied: boolean;
  /** The transition to announce once the target is applied (started, promoted, ...). */
  announce: TransitionKind | null;
  /**
   * ETag of the weights the pending transition was decided on. Applying it is conditional on
   * them (If-Match): a transition decided before an operator's change is abandoned, not applied.
   */
  basedOn: string | null;
  /** When the current step's weights were written (or the step was resumed). */
  stepStartedAt: number | null;
  /**
   * Time baked at the current step: only time ending in a conclusive analysis counts, and it
   * restarts at every new step and every resume.
   */
  bakedMs: number;
  /** From when the next conclusive analysis adds to `bakedMs`. */
  bakeMark: number | null;
  /** The rollout moves on only on check results evaluated at or after this time. */
  decideAfter: number;
  version: string | null;
  startedAt: number;
  startedBy: string;
  updatedAt: number;
  finishedAt: number | null;
  /** Why the last transition happened, for people. */
  reason: string;
  pausedBy: PauseCause | null;
  checks: Record<string, CheckState>;
  lastAnalysisAt: number | null;
  rollback: RollbackRecord | null;
  /** The version the stable backend runs once finalised (the canary's, redeployed as stable). */
  stableVersion: string | null;
  outbox: PendingNotification[];
}

/** A state with the revision it was read at (every write increments it). */
export interface VersionedState {
  state: RolloutState;
  revision: number;
}

/** ±Infinity survive the trip through JSON as text. */
export function stateToJson(state: RolloutState): string {
  return JSON.stringify(state, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value)
      ? Number.isNaN(value)
        ? 'NaN'
        : value > 0
          ? '+Inf'
          : '-Inf'
      : value,
  );
}

const num = z.union([
  z.number(),
  z
    .enum(['+Inf', '-Inf', 'NaN'])
    .transform((t) => (t === 'NaN' ? NaN : t === '+Inf' ? Infinity : -Infinity)),
]);
const time = z.number().int().nonnegative();

const checkStateSchema = z.object({
  verdict: z.enum(['pass', 'pending', 'fail', 'inconclusive', 'unknown']),
  value: num.nullable(),
  threshold: num.nullable(),
  stable: num.nullable(),
  breachSince: time.nullable(),
  evaluatedAt: time.nullable(),
  reason: z.string(),
  errors: z.number().int().nonnegative().default(0),
});

const transitionSchema = z.object({
  id: z.string(),
  kind: z.enum([
    'started',
    'promoted',
    'paused',
    'resumed',
    'rolled_back',
    'completed',
    'finalised',
  ]),
  split: z.string(),
  time: z.string(),
  step: z.number(),
  steps: z.number(),
  canaryPercent: z.number(),
  version: z.string().nullable(),
  actor: z.string(),
  reason: z.string(),
  check: z
    .object({
      name: z.string(),
      value: num.nullable(),
      threshold: num.nullable(),
      reason: z.string(),
      query: z.string().optional(),
    })
    .optional(),
});

const stateSchema = z.object({
  split: z.string(),
  status: z.enum(ROLLOUT_STATUSES),
  step: z.number().int().nonnegative(),
  steps: z.array(z.object({ percent: z.number().int().min(1).max(100), bakeTime: time })).min(1),
  applied: z.boolean(),
  announce: z
    .enum(['started', 'promoted', 'paused', 'resumed', 'rolled_back', 'completed', 'finalised'])
    .nullable(),
  basedOn: z.string().nullable(),
  stepStartedAt: time.nullable(),
  bakedMs: time.default(0),
  bakeMark: time.nullable().default(null),
  decideAfter: time,
  version: z.string().nullable(),
  startedAt: time,
  startedBy: z.string(),
  updatedAt: time,
  finishedAt: time.nullable(),
  reason: z.string(),
  pausedBy: z
    .enum(['inconclusive', 'operator', 'external', 'invalid', 'analysis-errors'])
    .nullable(),
  checks: z.record(z.string(), checkStateSchema),
  lastAnalysisAt: time.nullable(),
  rollback: z
    .object({
      trigger: z.enum(['analysis', 'api', 'cli', 'external']),
      actor: z.string(),
      at: time,
      reason: z.string(),
      check: z.string().nullable(),
      value: num.nullable(),
      threshold: num.nullable(),
    })
    .nullable(),
  stableVersion: z.string().nullable().default(null),
  outbox: z
    .array(
      z.object({
        id: z.string(),
        transition: transitionSchema,
        targets: z.array(z.string()),
        attempts: z.number().int().nonnegative(),
        nextAt: time,
      }),
    )
    .default([]),
});

/** Parses stored JSON; returns the problems instead when it is not a rollout state. */
export function stateFromJson(text: string): { state: RolloutState } | { problems: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { problems: `not JSON: ${(err as Error).message}` };
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues
        .map((i) => `${i.path.join('.') || '(state)'}: ${i.message}`)
        .join('; '),
    };
  }
  if (parsed.data.step >= parsed.data.steps.length) {
    return { problems: `step ${parsed.data.step} is beyond the ${parsed.data.steps.length} steps` };
  }
  return { state: parsed.data };
}

/** The canary share, in percent, that a state wants served. */
export function targetPercent(state: Pick<RolloutState, 'status' | 'step' | 'steps'>): number {
  switch (state.status) {
    case 'rolled_back':
    case 'finalised':
      return 0;
    case 'completed':
      return 100;
    case 'progressing':
    case 'paused':
      return state.steps[state.step].percent;
  }
}

/** True while a rollout still acts on the weights. */
export function isActive(state: Pick<RolloutState, 'status'>): boolean {
  return state.status === 'progressing' || state.status === 'paused';
}
