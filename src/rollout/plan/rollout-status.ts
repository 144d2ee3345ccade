import type { Verdict } from '../analysis/check-evaluation';
import { formatDuration } from '../../shared/duration';
import type { RolloutCheck, RolloutPlan } from '../../config/rollout-plan-schema';
import { bakedOf, decide } from './rollout-decisions';
import {
  targetPercent,
  type PauseCause,
  type RolloutState,
  type RolloutStatus,
} from './rollout-state';
import { checkRule, traefikCheckQueries, type TraefikServices } from '../analysis/traefik-checks';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** JSON has no Infinity: the API shows ±Inf as text, as Prometheus does. */
const jsonNumber = (n: number | null): number | string | null =>
  n === null || Number.isFinite(n) ? n : Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';

/** The breach condition for people: `>`, `> 1.2 × stable`. */
function comparatorText(c: RolloutCheck): string {
  const { comparator } = checkRule(c);
  if (c.type === 'threshold') return comparator;
  if (c.type === 'comparison' || c.compareTo === 'stable') {
    return `${comparator} ${c.factor} × stable`;
  }
  return comparator;
}

export interface CheckView {
  name: string;
  type: RolloutCheck['type'];
  /**
   * The PromQL the check runs: the written query (a comparison's template) or, for a built-in
   * check, the one built for the canary; null when the backends' Traefik names are unknown.
   */
  query: string | null;
  /** Built-in checks: the query run for the stable backend with `compareTo: stable`. */
  stableQuery: string | null;
  verdict: Verdict | 'unknown';
  value: number | string | null;
  threshold: number | string | null;
  /** Comparison checks: the stable backend's value. */
  stable: number | string | null;
  comparator: string;
  for: string;
  breachSince: string | null;
  evaluatedAt: string | null;
  reason: string;
}

/** What GET /api/v1/splits/:name/rollout answers. */
export interface RolloutStatusView {
  split: string;
  status: RolloutStatus;
  version: string | null;
  /** 1-based. */
  step: number;
  steps: number;
  /** Canary share the rollout wants now, in percent. */
  canaryPercent: number;
  percentages: number[];
  /** False while a transition is decided but its weights are not written yet. */
  applied: boolean;
  bake: {
    startedAt: string | null;
    totalMs: number;
    elapsedMs: number;
    remainingMs: number;
    total: string;
    elapsed: string;
    remaining: string;
  } | null;
  autoPromote: boolean | null;
  /** The step has baked and passes, and autoPromote is off: it waits for a promote. */
  awaitingPromotion: boolean;
  pausedBy: PauseCause | null;
  reason: string;
  checks: CheckView[];
  lastAnalysisAt: string | null;
  rollback: {
    trigger: string;
    actor: string;
    at: string;
    reason: string;
    check: string | null;
    value: number | string | null;
    threshold: number | string | null;
  } | null;
  startedAt: string;
  startedBy: string;
  updatedAt: string;
  finishedAt: string | null;
  /** Identity of the replica running rollouts, or null when none holds the lease. */
  leader: string | null;
  /** One line for people, e.g. for `canaryctl status`. */
  summary: string;
}

/** The identity part of a lease token (`<identity>/<uuid>`). */
export function leaderIdentity(token: string | null): string | null {
  if (token === null) return null;
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(0, slash) : token;
}

/** The status of a rollout for people and the API. Pure. */
export function describeRollout(
  state: RolloutState,
  plan: RolloutPlan | undefined,
  now: number,
  leader: string | null,
  services?: TraefikServices,
): RolloutStatusView {
  const step = state.steps[state.step];
  const active = state.status === 'progressing' || state.status === 'paused';
  const bake =
    active && state.stepStartedAt !== null
      ? (() => {
          const elapsedMs = plan
            ? bakedOf(plan, state, now)
            : Math.max(0, now - state.stepStartedAt);
          const remainingMs = Math.max(0, step.bakeTime - elapsedMs);
          return {
            startedAt: iso(state.stepStartedAt),
            totalMs: step.bakeTime,
            elapsedMs,
            remainingMs,
            total: formatDuration(step.bakeTime),
            elapsed: formatDuration(elapsedMs),
            remaining: formatDuration(remainingMs),
          };
        })()
      : null;
  const checks: CheckView[] = (plan?.checks ?? []).map((c) => {
    const s = state.checks[c.name];
    const built = c.type === 'traefik' && services ? traefikCheckQueries(c, services) : undefined;
    return {
      name: c.name,
      type: c.type,
      query: c.type === 'traefik' ? (built?.canary.value ?? null) : c.query,
      stableQuery: built?.stable?.value ?? null,
      verdict: s?.verdict ?? 'unknown',
      value: jsonNumber(s?.value ?? null),
      threshold: jsonNumber(s?.threshold ?? null),
      stable: jsonNumber(s?.stable ?? null),
      comparator: comparatorText(c),
      for: formatDuration(c.for),
      breachSince: iso(s?.breachSince ?? null),
      evaluatedAt: iso(s?.evaluatedAt ?? null),
      reason: s?.reason ?? 'not evaluated yet',
    };
  });
  const awaitingPromotion =
    plan !== undefined && decide(plan, state, now).kind === 'await-promotion';
  const view: Omit<RolloutStatusView, 'summary'> = {
    split: state.split,
    status: state.status,
    version: state.version,
    step: state.step + 1,
    steps: state.steps.length,
    canaryPercent: targetPercent(state),
    percentages: state.steps.map((s) => s.percent),
    applied: state.applied,
    bake,
    autoPromote: plan?.autoPromote ?? null,
    awaitingPromotion,
    pausedBy: state.pausedBy,
    reason: state.reason,
    checks,
    lastAnalysisAt: iso(state.lastAnalysisAt),
    rollback: state.rollback && {
      ...state.rollback,
      at: new Date(state.rollback.at).toISOString(),
      value: jsonNumber(state.rollback.value),
      threshold: jsonNumber(state.rollback.threshold),
    },
    startedAt: new Date(state.startedAt).toISOString(),
    startedBy: state.startedBy,
    updatedAt: new Date(state.updatedAt).toISOString(),
    finishedAt: iso(state.finishedAt),
    leader,
  };
  return { ...view, summary: formatProgressLine(view) };
}

/**
 * One line per rollout, e.g.
 * `council v2: progressing, step 2/4 (25%), baked 1m30s of 5m, checks 3 pass 1 pending`.
 */
export function formatProgressLine(view: Omit<RolloutStatusView, 'summary'>): string {
  const head = `${view.split}${view.version ? ` ${view.version}` : ''}`;
  const where = `step ${view.step}/${view.steps} (${view.canaryPercent}%)`;
  const counts = new Map<string, number>();
  for (const c of view.checks) counts.set(c.verdict, (counts.get(c.verdict) ?? 0) + 1);
  const checks =
    view.checks.length === 0
      ? 'no checks'
      : `checks ${[...counts].map(([verdict, n]) => `${n} ${verdict}`).join(' ')}`;
  switch (view.status) {
    case 'progressing': {
      const phase = !view.applied
        ? 'applying'
        : view.awaitingPromotion
          ? 'baked, waiting for promote'
          : view.bake
            ? `baked ${view.bake.elapsed} of ${view.bake.total}`
            : 'starting';
      return `${head}: progressing, ${where}, ${phase}, ${checks}`;
    }
    case 'paused':
      return `${head}: paused at ${where} (${view.pausedBy ?? 'paused'}): ${view.reason}`;
    case 'rolled_back':
      if (!view.applied) return `${head}: rolling back to 0%: ${view.reason}`;
      return `${head}: rolled back to 0% at ${view.rollback?.at ?? view.updatedAt}: ${view.reason}`;
    case 'completed':
      if (!view.applied) return `${head}: completing, canary going to 100%`;
      return `${head}: completed, canary at 100% since ${view.finishedAt ?? view.updatedAt}; redeploy the stable with it, then finalise`;
    case 'finalised':
      if (!view.applied) return `${head}: finalising, stable going back to 100%`;
      return `${head}: finalised at ${view.finishedAt ?? view.updatedAt}: the stable runs it, canary at 0%`;
  }
}
