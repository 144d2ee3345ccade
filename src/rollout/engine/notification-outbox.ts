import type { SplitConfig, SplitsConfig } from '../../config/splits';
import { WriteNotReplicatedError } from '../../errors';
import type { Logger } from '../../log/logger';
import type { Notifier, RolloutTransition, TransitionKind } from '../notifications/notifier';
import type { NotificationTargets } from '../../config/rollout-plan-schema';
import { targetPercent, type PendingNotification, type RolloutState } from '../plan/rollout-state';
import type { RolloutStateStore } from '../plan/rollout-state-store';
import { StaleRevisionError } from '../plan/stale-revision-error';
import { traefikCheckQueries, traefikServicesOf } from '../analysis/traefik-checks';

/** The query a check of the split's plan runs, for the announcement of its failure. */
function queryOf(split: SplitConfig, name: string): { query?: string } {
  const check = split.rollout?.checks.find((c) => c.name === name);
  if (!check) return {};
  if (check.type !== 'traefik') return { query: check.query };
  return { query: traefikCheckQueries(check, traefikServicesOf(split)).canary.value };
}

export interface NotificationOutboxOptions {
  splits: SplitsConfig;
  states: RolloutStateStore;
  notifier: Pick<Notifier, 'notify'>;
  log: Logger;
  /** Counts notifications given up on (after every attempt, or pushed out of a full outbox). */
  onGiveUp?: (split: string) => void;
  /** Delivery rounds per notification before giving up. Default 5. */
  maxAttempts?: number;
  /** At most this many undelivered notifications are kept per split. Default 20. */
  maxPending?: number;
  /** First wait before another replica retries; doubles per round. Default 10000. */
  retryDelayMs?: number;
  now?: () => number;
}

const NO_TARGETS: NotificationTargets = { slack: [], webhooks: [] };

function targetKeys(targets: NotificationTargets): string[] {
  return [
    ...targets.slack.map((_, i) => `slack:${i}`),
    ...targets.webhooks.map((_, i) => `webhook:${i}`),
  ];
}

/**
 * At-least-once notifications. A transition's announcement is put into the rollout state in the
 * same write as the transition, with a stable id; it stays there until every target took it or
 * it was given up on (bounded in attempts and in count). The writer sends it right after the
 * write without waiting; the controller retries what is left. A receiver may see an id twice.
 */
export class NotificationOutbox {
  private readonly inFlight = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly maxAttempts: number;
  private readonly maxPending: number;
  private readonly retryDelayMs: number;

  constructor(private readonly options: NotificationOutboxOptions) {
    this.now = options.now ?? Date.now;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.maxPending = options.maxPending ?? 20;
    this.retryDelayMs = options.retryDelayMs ?? 10_000;
  }

  private targets(split: string): NotificationTargets {
    return this.options.splits.byName.get(split)?.rollout?.notifications ?? NO_TARGETS;
  }

  /** The state with the transition's announcement added to its outbox. Pure. */
  enqueue(
    split: SplitConfig,
    state: RolloutState,
    kind: TransitionKind,
    revision: number,
    actor: string,
  ): RolloutState {
    const targets = targetKeys(this.targets(split.name));
    if (targets.length === 0) return state;
    const failed = state.rollback?.check ? state.checks[state.rollback.check] : undefined;
    const now = this.now();
    const transition: RolloutTransition = {
      id: `${split.name}:${state.startedAt}:${revision}:${kind}`,
      kind,
      split: split.name,
      time: new Date(now).toISOString(),
      step: state.step + 1,
      steps: state.steps.length,
      canaryPercent: targetPercent(state),
      version: state.version,
      actor,
      reason: state.reason,
      ...(kind === 'rolled_back' &&
        state.rollback?.check && {
          check: {
            name: state.rollback.check,
            value: state.rollback.value,
            threshold: state.rollback.threshold,
            reason: failed?.reason ?? state.reason,
            ...queryOf(split, state.rollback.check),
          },
        }),
    };
    const pending: PendingNotification = {
      id: transition.id,
      transition,
      targets,
      attempts: 0,
      // The writer sends it at once; others wait before retrying it.
      nextAt: now + this.retryDelayMs,
    };
    const outbox = [...state.outbox, pending];
    while (outbox.length > this.maxPending) {
      const dropped = outbox.shift();
      if (dropped) {
        this.options.onGiveUp?.(split.name);
        this.options.log.warn(
          { split: split.name, notification: dropped.id },
          'gave up on a rollout notification: too many undelivered',
        );
      }
    }
    return { ...state, outbox };
  }

  /** Sends what is pending for `split` now (the writer's first try), without waiting. */
  kick(split: string): void {
    this.track(this.deliver(split, true));
  }

  /** Sends what is due for `split` (the controller, each tick), without waiting. */
  retry(split: string): void {
    this.track(this.deliver(split, false));
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /** Waits for deliveries in progress (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private async deliver(split: string, now: boolean): Promise<void> {
    try {
      const vs = await this.options.states.read(split);
      if (!vs) return;
      const due = vs.state.outbox.filter(
        (p) => !this.inFlight.has(p.id) && (now || p.nextAt <= this.now()),
      );
      if (due.length === 0) return;
      for (const p of due) this.inFlight.add(p.id);
      try {
        const outcomes = await Promise.all(
          due.map(async (p) => ({
            id: p.id,
            delivered: await this.options.notifier.notify(
              this.targets(split),
              p.transition,
              p.targets,
            ),
          })),
        );
        await this.settle(split, outcomes);
      } finally {
        for (const p of due) this.inFlight.delete(p.id);
      }
    } catch (err) {
      this.options.log.warn(
        { err, split },
        'could not deliver rollout notifications; retrying later',
      );
    }
  }

  /** Removes what was delivered or given up on (compare-and-set; again on a concurrent write). */
  private async settle(
    split: string,
    outcomes: { id: string; delivered: string[] }[],
  ): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const vs = await this.options.states.read(split);
      if (!vs) return;
      const outbox: PendingNotification[] = [];
      for (const p of vs.state.outbox) {
        const outcome = outcomes.find((o) => o.id === p.id);
        if (!outcome) {
          outbox.push(p);
          continue;
        }
        const targets = p.targets.filter((t) => !outcome.delivered.includes(t));
        const attempts = p.attempts + 1;
        if (targets.length === 0) continue;
        if (attempts >= this.maxAttempts) {
          this.options.onGiveUp?.(split);
          this.options.log.warn(
            { split, notification: p.id, targets },
            'gave up on a rollout notification after every attempt',
          );
          continue;
        }
        outbox.push({
          ...p,
          targets,
          attempts,
          nextAt: this.now() + this.retryDelayMs * 2 ** (attempts - 1),
        });
      }
      try {
        await this.options.states.write({ ...vs.state, outbox }, { expectRevision: vs.revision });
        return;
      } catch (err) {
        if (err instanceof WriteNotReplicatedError) {
          // Written on the primary; if a failover loses it, a notification is sent once more.
          this.options.log.warn({ err, split }, 'the settled outbox is not yet replicated');
          return;
        }
        if (!(err instanceof StaleRevisionError)) throw err;
      }
    }
  }
}
