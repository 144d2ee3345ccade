import type { SplitConfig, SplitsConfig } from '../config/splits';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import { validateStoredWeights } from '../store/stored-weights';
import type { ChangeAction, ChangeSource, Weights } from '../store/types';
import type { WeightsStore } from '../store/weights-store';
import type { NotificationTargets } from './plan-schema';
import type { Notifier, RolloutTransition, TransitionKind } from './notifier';
import { servesPercent, weightsFor } from './rollout-decisions';
import type { RolloutMetrics } from './rollout-metrics';
import { isActive, targetPercent, type RolloutState, type VersionedState } from './rollout-state';
import type { RolloutStateStore } from './rollout-state-store';

/** The weights a split serves now, as the store reads them. */
export interface CurrentWeights {
  weights: Weights;
  etag: string;
  /** False when Redis holds something invalid (the split serves its last valid weights). */
  valid: boolean;
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
  store: Pick<WeightsStore, 'readAll' | 'write'>;
  states: RolloutStateStore;
  notifier: Pick<Notifier, 'notify'>;
  metrics: Pick<Metrics, 'rollbackEvents' | 'weightChanges'>;
  rolloutMetrics: Pick<RolloutMetrics, 'transitions'>;
  log: Logger;
  now?: () => number;
}

const NO_TARGETS: NotificationTargets = { slack: [], webhooks: [] };

function actionOf(state: RolloutState): ChangeAction {
  if (state.status === 'rolled_back') return 'rollback';
  if (state.status === 'completed') return 'promote';
  return 'rollout';
}

/**
 * The steps every rollout transition is made of, shared by the controller and the API: record the
 * intent in the rollout state, write the weights it implies through the one atomic write path,
 * mark it applied, announce it. Each step is a compare-and-set on the state's revision, so two
 * writers never both commit the same transition, and only the one that commits announces it.
 */
export class RolloutExecutor {
  private readonly now: () => number;

  constructor(private readonly deps: RolloutExecutorDeps) {
    this.now = deps.now ?? Date.now;
  }

  split(name: string): SplitConfig | undefined {
    return this.deps.splits.byName.get(name);
  }

  /** Every split's weights as served now, in one Redis round trip. */
  async readWeights(): Promise<Map<string, CurrentWeights>> {
    const reads = await this.deps.store.readAll();
    const out = new Map<string, CurrentWeights>();
    for (const read of reads) {
      const split = this.deps.splits.byName.get(read.split);
      if (!split) continue;
      const verdict = validateStoredWeights(split, read.stored);
      out.set(read.split, {
        weights: verdict.valid ? verdict.weights : { ...split.defaultWeights },
        etag: read.etag,
        valid: verdict.valid,
      });
    }
    return out;
  }

  /** Writes a state (compare-and-set on `from.revision`) and announces `announce` once written. */
  async commit(
    from: VersionedState | null,
    next: RolloutState,
    who: Actor,
    announce?: TransitionKind,
  ): Promise<VersionedState> {
    const revision = await this.deps.states.write(next, {
      expectRevision: from?.revision ?? 0,
      fenceToken: who.fenceToken,
    });
    if (announce) this.announce(next, announce, who.actor);
    return { state: next, revision };
  }

  /**
   * Writes the weights a state wants when they are not served yet, then marks it applied and
   * announces its pending transition. A rollback writes unconditionally; any other write names the
   * weights it was decided on (If-Match), so it never overwrites a concurrent operator's change.
   */
  async apply(vs: VersionedState, current: CurrentWeights, who: Actor): Promise<VersionedState> {
    const { state } = vs;
    const split = this.split(state.split);
    if (!split) throw new Error(`split "${state.split}" is no longer declared`);
    const percent = targetPercent(state);
    const now = this.now();
    if (!current.valid || !servesPercent(split, current.weights, percent)) {
      const result = await this.deps.store.write(
        {
          split: split.name,
          weights: weightsFor(split, percent),
          action: actionOf(state),
          source: who.source,
          actor: who.actor,
          reason: state.reason,
          ifMatch: state.status === 'rolled_back' ? undefined : (state.basedOn ?? current.etag),
          details: this.details(state),
        },
        who.fenceToken,
      );
      this.deps.metrics.weightChanges.inc({ split: split.name, source: who.source });
      const before = result.event.before ?? split.defaultWeights;
      if (percent === 0 && (before[split.canary] ?? 0) > 0) {
        const trigger = state.rollback?.trigger ?? who.source;
        this.deps.metrics.rollbackEvents.inc({ split: split.name, trigger });
      }
      this.deps.log.info(
        {
          split: split.name,
          percent,
          status: state.status,
          step: state.step + 1,
          event: result.event.id,
        },
        'rollout wrote weights',
      );
    }
    const newStep = state.announce === 'started' || state.announce === 'promoted';
    const next: RolloutState = {
      ...state,
      applied: true,
      announce: null,
      basedOn: null,
      updatedAt: now,
      ...(newStep && { stepStartedAt: now, decideAfter: now }),
      ...(!isActive(state) && state.finishedAt === null && { finishedAt: now }),
    };
    return this.commit(vs, next, who, state.announce ?? undefined);
  }

  /** Sends a transition to the split's notification targets, without waiting for delivery. */
  announce(state: RolloutState, kind: TransitionKind, actor: string): void {
    const split = this.split(state.split);
    const targets = split?.rollout?.notifications ?? NO_TARGETS;
    this.deps.rolloutMetrics.transitions.inc({ split: state.split, transition: kind });
    const failed = state.rollback?.check ? state.checks[state.rollback.check] : undefined;
    const transition: RolloutTransition = {
      kind,
      split: state.split,
      time: new Date(this.now()).toISOString(),
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
          },
        }),
    };
    this.deps.log.info(
      { split: state.split, transition: kind, reason: state.reason },
      `rollout ${kind}`,
    );
    void this.deps.notifier.notify(targets, transition);
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
      ...(state.rollback && {
        trigger: state.rollback.trigger,
        check: state.rollback.check,
        value: state.rollback.value,
        threshold: state.rollback.threshold,
      }),
    };
  }
}
