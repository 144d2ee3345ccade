import os from 'node:os';
import type { Redis } from 'ioredis';
import type { SplitConfig, SplitsConfig } from '../config/splits';
import type { Logger } from '../log/logger';
import { INITIAL_CHECK_STATE, observe, type CheckState } from './check-evaluation';
import { runCheck } from './check-runner';
import type { RolloutPlan } from './plan-schema';
import type { PromQuerier } from './prometheus-client';
import { decide, driftOf } from './rollout-decisions';
import type { Actor, CurrentWeights, RolloutExecutor } from './rollout-executor';
import { Lease } from './lease';
import type { RolloutMetrics } from './rollout-metrics';
import {
  isActive,
  ROLLOUT_STATUSES,
  type RolloutState,
  type VersionedState,
} from './rollout-state';
import type { RolloutStateStore } from './rollout-state-store';

export interface RolloutControllerOptions {
  redis: Redis;
  /** `{prefix}rollout-lease` */
  leaseKey: string;
  splits: SplitsConfig;
  executor: RolloutExecutor;
  states: RolloutStateStore;
  prometheus: PromQuerier;
  metrics: RolloutMetrics;
  log: Logger;
  /** Names this replica in the lease and in audit events. Default `<hostname>:<pid>`. */
  identity?: string;
  /** Default 15000. A dead leader's rollouts resume on another replica within about this long. */
  leaseTtlMs?: number;
  /** Longest sleep between two looks at the rollout states. Default 1000. */
  tickMs?: number;
  now?: () => number;
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'INTERNAL';
}

/**
 * Runs rollouts. Every replica runs one; only the holder of the rollout lease acts, and every
 * write it makes is fenced by the lease token, so a replica that lost the lease (paused, cut off)
 * never writes. All state is in Redis: a new leader resumes where the last one stopped.
 *
 * Each split with an active rollout is analysed every `analysisInterval` on a fixed cadence, so a
 * check that fails is acted on at the analysis that sees its `for` window complete: at most one
 * interval after the window ends, plus the time of the queries and one Redis write.
 */
export class RolloutController {
  readonly identity: string;
  readonly lease: Lease;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly tickMs: number;
  private readonly leaseTtlMs: number;
  private readonly nextAnalysisAt = new Map<string, number>();
  private running = false;
  private leader = false;
  private loops: Promise<void>[] = [];
  private wakeUp: (() => void)[] = [];

  constructor(private readonly options: RolloutControllerOptions) {
    this.identity = options.identity ?? `${os.hostname()}:${process.pid}`;
    this.log = options.log.child({ component: 'rollout-controller', identity: this.identity });
    this.now = options.now ?? Date.now;
    this.tickMs = options.tickMs ?? 1_000;
    this.leaseTtlMs = options.leaseTtlMs ?? 15_000;
    this.lease = new Lease({
      redis: options.redis,
      key: options.leaseKey,
      identity: this.identity,
      ttlMs: this.leaseTtlMs,
    });
  }

  get isLeader(): boolean {
    return this.leader && this.lease.isHeld();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = [this.leaseLoop(), this.workLoop()];
  }

  /** Stops and gives the lease up, so another replica takes over at once. */
  async stop(): Promise<void> {
    await this.halt();
    try {
      await this.lease.release();
    } catch (err) {
      this.log.warn({ err }, 'could not release the rollout lease; it expires by itself');
    }
  }

  /** Stops without giving the lease up, as a crash would (the lease then expires). */
  async halt(): Promise<void> {
    this.running = false;
    for (const wake of this.wakeUp.splice(0)) wake();
    await Promise.all(this.loops);
    this.loops = [];
    this.setLeader(false);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(ms, 5));
      const wakeUp = this.wakeUp;
      function done(): void {
        clearTimeout(timer);
        const i = wakeUp.indexOf(done);
        if (i >= 0) wakeUp.splice(i, 1);
        resolve();
      }
      wakeUp.push(done);
    });
  }

  private setLeader(held: boolean): void {
    if (held === this.leader) return;
    this.leader = held;
    this.options.metrics.leader.set(held ? 1 : 0);
    if (held) {
      // A new leader analyses at once: it does not know when its predecessor last did.
      this.nextAnalysisAt.clear();
      this.log.info({ leaseKey: this.lease.key }, 'acquired the rollout lease: running rollouts');
    } else {
      this.log.warn('no longer holds the rollout lease: not running rollouts');
    }
  }

  private async leaseLoop(): Promise<void> {
    while (this.running) {
      try {
        this.setLeader(await this.lease.acquireOrRenew());
      } catch (err) {
        this.log.warn({ err }, 'could not renew the rollout lease');
        if (!this.lease.isHeld()) this.setLeader(false);
      }
      await this.sleep(Math.floor(this.leaseTtlMs / 3));
    }
  }

  private async workLoop(): Promise<void> {
    while (this.running) {
      let wait = this.tickMs;
      if (this.isLeader) {
        try {
          wait = await this.runOnce();
        } catch (err) {
          this.options.metrics.errors.inc({ split: '', code: codeOf(err) });
          this.log.error({ err }, 'rollout iteration failed');
        }
      }
      await this.sleep(wait);
    }
  }

  /** One look at every split's rollout. Returns how long to sleep before the next. */
  async runOnce(): Promise<number> {
    const token = this.lease.token;
    if (token === undefined) return this.tickMs;
    const who: Actor = { actor: this.identity, source: 'controller', fenceToken: token };
    const weights = await this.options.executor.readWeights();
    const splits = this.options.splits.splits.filter((s) => s.rollout !== undefined);
    await Promise.all(
      splits.map(async (split) => {
        const current = weights.get(split.name);
        if (!current) return;
        try {
          await this.tickSplit(split, split.rollout as RolloutPlan, current, who);
        } catch (err) {
          this.onSplitError(split.name, err);
        }
      }),
    );
    const now = this.now();
    let wait = this.tickMs;
    for (const at of this.nextAnalysisAt.values()) wait = Math.min(wait, at - now);
    return Math.max(wait, 5);
  }

  private onSplitError(split: string, err: unknown): void {
    const code = codeOf(err);
    if (code === 'LEASE_LOST') {
      this.lease.drop();
      this.setLeader(false);
      this.log.warn({ split }, 'a write was refused: another replica holds the rollout lease');
      return;
    }
    if (code === 'STALE_REVISION' || code === 'PRECONDITION_FAILED') {
      // Someone (an operator) changed the rollout or the weights meanwhile: look again next tick.
      this.log.debug({ split, code }, 'rollout changed concurrently; retrying on the next tick');
      return;
    }
    this.options.metrics.errors.inc({ split, code });
    this.log.error({ split, err }, 'rollout step failed');
  }

  private exportState(state: RolloutState): void {
    const { metrics } = this.options;
    metrics.step.set({ split: state.split }, state.step + 1);
    for (const status of ROLLOUT_STATUSES) {
      metrics.status.set({ split: state.split, status }, status === state.status ? 1 : 0);
    }
  }

  private async tickSplit(
    split: SplitConfig,
    plan: RolloutPlan,
    current: CurrentWeights,
    who: Actor,
  ): Promise<void> {
    const { executor, states } = this.options;
    let vs = await states.read(split.name);
    if (!vs) return;
    const wasApplied = vs.state.applied;
    if (!wasApplied) {
      // A rollback has no basedOn: it is applied whatever the weights are.
      const stale = vs.state.basedOn !== null && vs.state.basedOn !== current.etag;
      vs = stale
        ? await this.abandon(split, vs, current, who)
        : await executor.apply(vs, current, who);
    }
    this.exportState(vs.state);
    if (!isActive(vs.state)) {
      this.nextAnalysisAt.delete(split.name);
      return;
    }

    // Weights changed by someone else since we applied ours: follow what the operator did.
    if (wasApplied && current.valid) {
      const drift = driftOf(split, vs.state, current.weights);
      if (drift.kind === 'rolled-back') {
        await this.recordExternalRollback(vs, who);
        return;
      }
      if (drift.kind === 'changed' && vs.state.status === 'progressing') {
        const want = vs.state.steps[vs.state.step].percent;
        const reason = `the weights were changed outside the rollout: canary at ${drift.percent}% instead of ${want}%; resume re-applies ${want}%, abort rolls back`;
        vs = await executor.commit(
          vs,
          { ...vs.state, status: 'paused', pausedBy: 'external', reason, updatedAt: this.now() },
          who,
          'paused',
        );
      }
    }

    const now = this.now();
    const due = this.nextAnalysisAt.get(split.name) ?? now;
    if (now >= due) {
      const next = due + plan.analysisInterval;
      this.nextAnalysisAt.set(split.name, next > now ? next : now + plan.analysisInterval);
      vs = await this.analyse(split, plan, vs, current, who, due);
      if (!isActive(vs.state)) return;
    }

    const decision = decide(plan, vs.state, this.now());
    switch (decision.kind) {
      case 'promote':
      case 'complete': {
        const intent: RolloutState = {
          ...vs.state,
          ...(decision.kind === 'promote'
            ? { step: vs.state.step + 1, announce: 'promoted' as const }
            : { status: 'completed' as const, announce: 'completed' as const }),
          applied: false,
          basedOn: current.etag,
          pausedBy: null,
          reason: decision.reason,
          updatedAt: this.now(),
        };
        vs = await executor.commit(vs, intent, who);
        vs = await executor.apply(vs, current, who);
        this.exportState(vs.state);
        return;
      }
      case 'pause':
        vs = await executor.commit(
          vs,
          {
            ...vs.state,
            status: 'paused',
            pausedBy: 'inconclusive',
            reason: decision.reason,
            updatedAt: this.now(),
          },
          who,
          'paused',
        );
        this.exportState(vs.state);
        return;
      case 'wait':
      case 'await-promotion':
        return;
    }
  }

  /** Runs every check once; rolls back on a failed one, else records the results. */
  private async analyse(
    split: SplitConfig,
    plan: RolloutPlan,
    vs: VersionedState,
    current: CurrentWeights,
    who: Actor,
    scheduledAt: number,
  ): Promise<VersionedState> {
    const { metrics, prometheus, executor } = this.options;
    // Observations carry their scheduled time, not the moment the timer fired: on a fixed grid,
    // a `for` that is a multiple of the interval completes exactly at an analysis, and timer
    // jitter cannot push the failure to the next one.
    const at = scheduledAt;
    const stop = metrics.analysisDuration.startTimer({ split: split.name });
    const observations = await Promise.all(
      plan.checks.map((check) =>
        runCheck(check, prometheus, at, { stable: split.stable, canary: split.canary }),
      ),
    );
    stop();

    const fold = (prev: Record<string, CheckState>) => {
      const checks: Record<string, CheckState> = {};
      plan.checks.forEach((check, i) => {
        checks[check.name] = observe(
          check,
          prev[check.name] ?? INITIAL_CHECK_STATE,
          observations[i],
        );
      });
      return checks;
    };
    const checks = fold(vs.state.checks);
    plan.checks.forEach((check, i) => {
      const s = checks[check.name];
      metrics.checkEvaluations.inc({ split: split.name, check: check.name, verdict: s.verdict });
      if (s.value !== null)
        metrics.checkValue.set({ split: split.name, check: check.name }, s.value);
      const obs = observations[i];
      if (obs.kind === 'error') metrics.prometheusErrors.inc({ code: obs.code });
    });

    const failed = plan.checks.find((c) => checks[c.name].verdict === 'fail');
    if (failed) return this.rollBack(split, vs, checks, failed.name, at, current, who);

    const next: RolloutState = { ...vs.state, checks, lastAnalysisAt: at, updatedAt: at };
    try {
      return await executor.commit(vs, next, who);
    } catch (err) {
      if (codeOf(err) !== 'STALE_REVISION') throw err;
      // An operator changed the rollout during the queries: keep their change, add the results.
      const fresh = await this.options.states.read(split.name);
      if (!fresh || !isActive(fresh.state)) return fresh ?? vs;
      return executor.commit(
        fresh,
        { ...fresh.state, checks: fold(fresh.state.checks), lastAnalysisAt: at },
        who,
      );
    }
  }

  private async rollBack(
    split: SplitConfig,
    from: VersionedState,
    checks: Record<string, CheckState>,
    checkName: string,
    at: number,
    current: CurrentWeights,
    who: Actor,
  ): Promise<VersionedState> {
    const { executor, states } = this.options;
    const failed = checks[checkName];
    const reason = `check ${checkName} failed: ${failed.reason}`;
    let vs: VersionedState | null = from;
    // A concurrent operator change must not cost the rollback: re-read and try again.
    for (let attempt = 0; attempt < 3 && vs && isActive(vs.state); attempt++) {
      const intent: RolloutState = {
        ...vs.state,
        checks,
        lastAnalysisAt: at,
        status: 'rolled_back',
        applied: false,
        announce: 'rolled_back',
        basedOn: null,
        pausedBy: null,
        reason,
        updatedAt: this.now(),
        rollback: {
          trigger: 'analysis',
          actor: who.actor,
          at,
          reason,
          check: checkName,
          value: failed.value,
          threshold: failed.threshold,
        },
      };
      try {
        const committed = await executor.commit(vs, intent, who);
        this.log.warn(
          { split: split.name, check: checkName, value: failed.value, threshold: failed.threshold },
          reason,
        );
        return await executor.apply(committed, current, who);
      } catch (err) {
        if (codeOf(err) !== 'STALE_REVISION') throw err;
        vs = await states.read(split.name);
      }
    }
    return vs ?? from;
  }

  /**
   * A transition was decided on weights that have changed since (an operator acted in between):
   * it is not applied. A canary now at 0 % was rolled back by hand; anything else pauses the
   * rollout at the last step that was applied, for a person to resume or abort.
   */
  private async abandon(
    split: SplitConfig,
    vs: VersionedState,
    current: CurrentWeights,
    who: Actor,
  ): Promise<VersionedState> {
    const { state } = vs;
    if (state.announce !== 'started' && (current.weights[split.canary] ?? 0) === 0) {
      return this.recordExternalRollback(vs, who);
    }
    const step = state.announce === 'promoted' ? state.step - 1 : state.step;
    const what =
      state.status === 'completed'
        ? 'completion'
        : `step ${state.step + 1} (${state.steps[state.step].percent}%)`;
    const reason = `the weights were changed outside the rollout before ${what} was applied; resume applies step ${step + 1}, promote moves on, abort rolls back`;
    return this.options.executor.commit(
      vs,
      {
        ...state,
        status: 'paused',
        step,
        applied: true,
        announce: null,
        basedOn: null,
        pausedBy: 'external',
        reason,
        updatedAt: this.now(),
      },
      who,
      'paused',
    );
  }

  private async recordExternalRollback(vs: VersionedState, who: Actor): Promise<VersionedState> {
    const now = this.now();
    const reason = 'the canary was set to 0% outside the rollout (API, canaryctl or redis-cli)';
    return this.options.executor.commit(
      vs,
      {
        ...vs.state,
        status: 'rolled_back',
        applied: true,
        announce: null,
        basedOn: null,
        pausedBy: null,
        reason,
        updatedAt: now,
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
      who,
      'rolled_back',
    );
  }
}
