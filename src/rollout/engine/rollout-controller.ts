import os from 'node:os';
import type { Redis } from 'ioredis';
import type { SplitConfig, SplitsConfig } from '../../config/splits';
import { AppError, LeaseLostError, WriteNotReplicatedError } from '../../errors';
import type { Logger } from '../../log/logger';
import type { Observation } from '../analysis/check-evaluation';
import { runCheck } from '../analysis/check-runner';
import { isConcurrentChange } from '../plan/concurrent-change';
import { traefikServicesOf } from '../analysis/traefik-checks';
import { Lease } from './lease';
import { LeaseKeeper } from './lease-keeper';
import type { NotificationOutbox } from './notification-outbox';
import type { RolloutPlan } from '../../config/rollout-plan-schema';
import type { PromQuerier } from '../analysis/prometheus-client';
import type { Actor, RolloutExecutor } from './rollout-executor';
import type { RolloutMetrics } from './rollout-metrics';
import { isActive, ROLLOUT_STATUSES, type RolloutState } from '../plan/rollout-state';
import type { RolloutStateStore } from '../plan/rollout-state-store';
import { reconcile } from '../plan/rollout-transitions';

export interface RolloutControllerOptions {
  /** The lease's connection (the states and weights go through `states` and `executor`). */
  redis: Redis;
  /** `{prefix}rollout-lease` */
  leaseKey: string;
  splits: SplitsConfig;
  executor: RolloutExecutor;
  states: RolloutStateStore;
  outbox: NotificationOutbox;
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

/** The metrics label of an error: its stable code, or INTERNAL for one raised by accident. */
function codeOf(err: unknown): string {
  return err instanceof AppError ? err.code : 'INTERNAL';
}

/**
 * Runs rollouts: a thin loop around the pure transitions. Every replica runs one; only the holder
 * of the rollout lease acts, and every write it makes is fenced by the lease token, so a replica
 * that lost the lease (paused, cut off) never writes. All state is in Redis: a new leader resumes
 * where the last one stopped.
 *
 * Each tick, per split: read the rollout state, run the checks when due, read the weights Redis
 * holds now (after the queries), derive what the state wants, and apply at most one transition as
 * one fenced script. Nothing is decided on a reading taken before a write.
 *
 * Each split with an active rollout is analysed every `analysisInterval` on a fixed cadence, so a
 * check that fails is acted on at the analysis that sees its `for` window complete: at most one
 * interval after the window ends, plus the time of the queries and one Redis write.
 */
export class RolloutController {
  readonly identity: string;
  readonly lease: Lease;
  private readonly keeper: LeaseKeeper;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly tickMs: number;
  private readonly nextAnalysisAt = new Map<string, number>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void)[] = [];

  constructor(private readonly options: RolloutControllerOptions) {
    this.identity = options.identity ?? `${os.hostname()}:${process.pid}`;
    this.log = options.log.child({ component: 'rollout-controller', identity: this.identity });
    this.now = options.now ?? Date.now;
    this.tickMs = options.tickMs ?? 1_000;
    const ttlMs = options.leaseTtlMs ?? 15_000;
    this.lease = new Lease({
      redis: options.redis,
      key: options.leaseKey,
      identity: this.identity,
      ttlMs,
    });
    this.keeper = new LeaseKeeper({
      lease: this.lease,
      ttlMs,
      log: this.log,
      onChange: (held) => this.onLeadership(held),
    });
  }

  get isLeader(): boolean {
    return this.keeper.isLeader;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.keeper.start();
    this.loop = this.workLoop();
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
    await this.loop;
    this.loop = undefined;
    await this.keeper.close();
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

  private onLeadership(held: boolean): void {
    this.options.metrics.leader.set(held ? 1 : 0);
    if (held) {
      // A new leader analyses at once: it does not know when its predecessor last did.
      this.nextAnalysisAt.clear();
      this.log.info({ leaseKey: this.lease.key }, 'acquired the rollout lease: running rollouts');
    } else {
      this.log.warn('no longer holds the rollout lease: not running rollouts');
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
    const splits = this.options.splits.splits.filter((s) => s.rollout !== undefined);
    await Promise.all(
      splits.map(async (split) => {
        try {
          await this.tickSplit(split, split.rollout as RolloutPlan, who);
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
    if (err instanceof LeaseLostError) {
      this.keeper.lost();
      this.log.warn({ split }, 'a write was refused: another replica holds the rollout lease');
      return;
    }
    const code = codeOf(err);
    if (isConcurrentChange(err)) {
      // Someone (an operator) changed the rollout or the weights meanwhile: look again next tick.
      this.log.debug(
        { split, code },
        'rollout changed concurrently; deciding again on the next tick',
      );
      this.nextAnalysisAt.delete(split);
      return;
    }
    this.options.metrics.errors.inc({ split, code });
    if (err instanceof WriteNotReplicatedError) {
      // The step stands on the primary and the next tick goes on from it.
      this.log.warn({ split, err }, 'rollout step written but not yet replicated');
      return;
    }
    this.log.error({ split, err }, 'rollout step failed');
  }

  private exportState(state: RolloutState): void {
    const { metrics } = this.options;
    metrics.step.set({ split: state.split }, state.step + 1);
    for (const status of ROLLOUT_STATUSES) {
      metrics.status.set({ split: state.split, status }, status === state.status ? 1 : 0);
    }
  }

  private async tickSplit(split: SplitConfig, plan: RolloutPlan, who: Actor): Promise<void> {
    const { executor, states, outbox } = this.options;
    const vs = await states.read(split.name);
    if (!vs) return;
    if (vs.state.outbox.length > 0) outbox.retry(split.name);
    this.exportState(vs.state);
    if (vs.state.applied && !isActive(vs.state)) {
      this.nextAnalysisAt.delete(split.name);
      return;
    }
    const analysis =
      vs.state.applied && isActive(vs.state)
        ? await this.analyseIfDue(split, plan, vs.state)
        : undefined;
    // Read after the queries: the decision is made on what Redis holds now.
    const current = await executor.read(split.name);
    const t = reconcile({ split, plan, now: this.now(), actor: this.identity }, vs.state, {
      weights: current.view,
      analysis,
    });
    if (analysis) this.exportChecks(split, plan, (t ?? vs).state);
    if (!t) return;
    const next = await executor.run(vs, t, current, who);
    this.exportState(next.state);
    if (next.state.step !== vs.state.step || !vs.state.applied) {
      // A new step is analysed at once, on results taken after it was applied.
      this.nextAnalysisAt.delete(split.name);
    }
  }

  private exportChecks(split: SplitConfig, plan: RolloutPlan, state: RolloutState): void {
    const { metrics } = this.options;
    for (const check of plan.checks) {
      const s = state.checks[check.name];
      if (!s) continue;
      metrics.checkEvaluations.inc({ split: split.name, check: check.name, verdict: s.verdict });
      if (s.value !== null)
        metrics.checkValue.set({ split: split.name, check: check.name }, s.value);
    }
  }

  /** Runs every check once when the split's analysis is due; undefined otherwise. */
  private async analyseIfDue(
    split: SplitConfig,
    plan: RolloutPlan,
    state: RolloutState,
  ): Promise<Observation[] | undefined> {
    const { metrics, prometheus } = this.options;
    if (plan.checks.length === 0) return undefined;
    const now = this.now();
    const due = this.nextAnalysisAt.get(split.name) ?? now;
    if (now < due) return undefined;
    const next = due + plan.analysisInterval;
    this.nextAnalysisAt.set(split.name, next > now ? next : now + plan.analysisInterval);
    // Observations carry their scheduled time, not the moment the timer fired: on a fixed grid,
    // a `for` that is a multiple of the interval completes exactly at an analysis, and timer
    // jitter cannot push the failure to the next one. Never before the step's own start.
    const at = Math.max(due, state.decideAfter);
    const stop = metrics.analysisDuration.startTimer({ split: split.name });
    const observations = await Promise.all(
      plan.checks.map((check) =>
        runCheck(
          check,
          prometheus,
          at,
          { stable: split.stable, canary: split.canary },
          traefikServicesOf(split),
        ),
      ),
    );
    stop();
    for (const obs of observations) {
      if (obs.kind === 'error') metrics.prometheusErrors.inc({ code: obs.code });
    }
    return observations;
  }
}
