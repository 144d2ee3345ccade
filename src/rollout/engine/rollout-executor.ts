import type { SplitConfig, SplitsConfig } from '../../config/splits';
import { WriteNotReplicatedError } from '../../errors';
import type { Logger } from '../../log/logger';
import type { Metrics } from '../../metrics/metrics';
import { validateStoredWeights, type StoredWeights } from '../../store/stored-weights';
import type { ChangeSource } from '../../store/types';
import type { WeightsStore } from '../../store/weights-store';
import type { NotificationOutbox } from './notification-outbox';
import { weightsFor } from '../plan/rollout-decisions';
import type { RolloutMetrics } from './rollout-metrics';
import { targetPercent, type RolloutState, type VersionedState } from '../plan/rollout-state';
import type { RolloutStateStore, TransitionResult } from '../plan/rollout-state-store';
import type { Transition, WeightsView } from '../plan/rollout-transitions';

/** The weights a split holds now: the provider's validated view, and the raw value it came from. */
export interface CurrentWeights {
  view: WeightsView;
  /** What the hash held, exactly: a conditional transition applies only if it still does. */
  stored: StoredWeights;
}

/** Who acts: the controller (with its lease token as the fence) or an operator through the API. */
export interface Actor {
  actor: string;
  source: ChangeSource;
  /** The rollout lease token: every write is refused once another replica holds the lease. */
  fenceToken?: string;
}

export interface RolloutExecutorDeps {
  splits: SplitsConfig;
  store: Pick<WeightsStore, 'read'>;
  states: RolloutStateStore;
  outbox: NotificationOutbox;
  metrics: Pick<Metrics, 'rollbackEvents' | 'weightChanges'>;
  rolloutMetrics: Pick<RolloutMetrics, 'transitions'>;
  log: Logger;
}

/**
 * The small port between rollouts and the weights: read a split's weights through the same
 * validation the provider serves them with, and apply a transition (weights + audit event +
 * rollout state) as one atomic, fenced script.
 */
export class RolloutExecutor {
  constructor(private readonly deps: RolloutExecutorDeps) {}

  split(name: string): SplitConfig | undefined {
    return this.deps.splits.byName.get(name);
  }

  /** A split's weights as Redis holds them now, validated as the provider validates them. */
  async read(name: string): Promise<CurrentWeights> {
    const split = this.split(name);
    if (!split) throw new Error(`split "${name}" is not declared`);
    const [read] = await this.deps.store.read([name]);
    const verdict = validateStoredWeights(split, read.stored);
    return {
      stored: read.stored,
      view: verdict.valid
        ? { weights: verdict.weights, etag: read.etag, problems: [] }
        : { weights: null, etag: read.etag, problems: verdict.problems },
    };
  }

  /**
   * Applies a transition decided on `from` (the state as read) and, for a conditional write,
   * `basis` (the weights as read). The announcement goes into the state's outbox in the same
   * write, and is sent after it, without delaying it.
   */
  async run(
    from: VersionedState | null,
    t: Transition,
    basis: CurrentWeights | undefined,
    who: Actor,
  ): Promise<VersionedState> {
    const split = this.split(t.state.split);
    if (!split) throw new Error(`split "${t.state.split}" is no longer declared`);
    const revision = (from?.revision ?? 0) + 1;
    const state: RolloutState = t.notify
      ? this.deps.outbox.enqueue(split, t.state, t.notify, revision, who.actor)
      : t.state;
    const write = t.write;
    let result: TransitionResult;
    // Written but not confirmed by enough replicas: account for the write, then say so.
    let unreplicated: WriteNotReplicatedError | undefined;
    try {
      result = await this.deps.states.transition(state, {
        expectRevision: from?.revision ?? 0,
        fenceToken: who.fenceToken,
        // A rollback is written whatever the weights hold; anything else only on what was read.
        basis: write && !write.conditional ? undefined : basis?.stored,
        write: write && {
          weights: weightsFor(split, write.percent),
          action: write.action,
          source: who.source,
          actor: who.actor,
          reason: state.reason,
          details: this.details(state),
        },
      });
    } catch (err) {
      if (!(err instanceof WriteNotReplicatedError) || err.written === undefined) throw err;
      unreplicated = err;
      result = err.written as TransitionResult;
    }
    if (write) {
      this.deps.metrics.weightChanges.inc({ split: split.name, source: who.source });
      const canaryBefore = result.before?.[split.canary];
      const served =
        canaryBefore === undefined ? (split.defaultWeights[split.canary] ?? 0) : canaryBefore;
      if (write.percent === 0 && served !== 0 && served !== '0') {
        const trigger = state.rollback?.trigger ?? who.source;
        this.deps.metrics.rollbackEvents.inc({ split: split.name, trigger });
      }
      this.deps.log.info(
        {
          split: split.name,
          percent: write.percent,
          status: state.status,
          step: state.step + 1,
          event: result.eventId,
        },
        'rollout wrote weights',
      );
    }
    if (t.notify) {
      this.deps.rolloutMetrics.transitions.inc({ split: split.name, transition: t.notify });
      this.deps.log.info(
        { split: split.name, transition: t.notify, reason: state.reason },
        `rollout ${t.notify}`,
      );
      this.deps.outbox.kick(split.name);
    }
    if (unreplicated) throw unreplicated;
    return { state, revision: result.revision };
  }

  private details(state: RolloutState): Record<string, unknown> {
    return {
      rollout: {
        status: state.status,
        step: state.step + 1,
        steps: state.steps.length,
        percent: targetPercent(state),
        version: state.version,
      },
      ...(state.rollback &&
        state.status === 'rolled_back' && {
          trigger: state.rollback.trigger,
          check: state.rollback.check,
          value: state.rollback.value,
          threshold: state.rollback.threshold,
        }),
    };
  }
}
