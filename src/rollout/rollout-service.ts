import type { SplitConfig, SplitsConfig } from '../config/splits';
import { NotFoundError } from '../errors';
import type { ChangeSource } from '../store/types';
import type { TransitionKind } from './notifier';
import type { RolloutPlan } from './plan-schema';
import { RolloutConflictError } from './rollout-conflict-error';
import type { Actor, RolloutExecutor } from './rollout-executor';
import { isActive, targetPercent, type RolloutState, type VersionedState } from './rollout-state';
import type { RolloutStateStore } from './rollout-state-store';
import { describeRollout, leaderIdentity, type RolloutStatusView } from './rollout-status';

export interface RolloutServiceDeps {
  splits: SplitsConfig;
  states: RolloutStateStore;
  executor: RolloutExecutor;
  /** The token in the rollout lease key now (`Lease.holder`). */
  leaseHolder: () => Promise<string | null>;
  now?: () => number;
}

/** Who asks, as the API or canaryctl names them. */
export interface Operator {
  actor: string;
  source: Extract<ChangeSource, 'api' | 'cli'>;
  reason?: string;
}

type Change = { next: RolloutState; announce?: TransitionKind } | { unchanged: true };

const MAX_ATTEMPTS = 5;

/**
 * What operators do with rollouts (API, canaryctl). Starting, promoting and resuming record the
 * transition in Redis; the controller that holds the lease writes the weights at its next tick.
 * Abort writes the rollback itself at once: it must not wait for anyone. Pause is state only.
 */
export class RolloutService {
  private readonly now: () => number;

  constructor(private readonly deps: RolloutServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  private planned(name: string): { split: SplitConfig; plan: RolloutPlan } {
    const split = this.deps.splits.byName.get(name);
    if (!split) {
      throw new NotFoundError(
        `split "${name}" is not declared in ${this.deps.splits.file} (declared: ${[...this.deps.splits.byName.keys()].join(', ')})`,
      );
    }
    if (!split.rollout) {
      throw new RolloutConflictError(
        `split "${name}" has no rollout plan: add a \`rollout\` section to it in ${this.deps.splits.file} (see docs/rollouts.md)`,
      );
    }
    return { split, plan: split.rollout };
  }

  private async view(vs: VersionedState, plan: RolloutPlan): Promise<RolloutStatusView> {
    let leader: string | null = null;
    try {
      leader = leaderIdentity(await this.deps.leaseHolder());
    } catch {
      leader = null;
    }
    return describeRollout(vs.state, plan, this.now(), leader);
  }

  async status(name: string): Promise<RolloutStatusView> {
    const { plan } = this.planned(name);
    const vs = await this.deps.states.read(name);
    if (!vs) throw new NotFoundError(`split "${name}" has had no rollout yet: POST to start one`);
    return this.view(vs, plan);
  }

  /**
   * The canary version the split's latest rollout named (for `swarm_deployment_version`), or null
   * when it has had no rollout or the rollout named none.
   */
  async versionOf(name: string): Promise<string | null> {
    if (!this.deps.splits.byName.get(name)?.rollout) return null;
    return (await this.deps.states.read(name))?.state.version ?? null;
  }

  /** Reads, decides, writes (compare-and-set); again on a concurrent change. */
  private async change(
    name: string,
    op: Operator,
    decide: (
      vs: VersionedState | null,
      split: SplitConfig,
      plan: RolloutPlan,
    ) => Promise<Change> | Change,
  ): Promise<VersionedState> {
    const { split, plan } = this.planned(name);
    const who: Actor = { actor: op.actor, source: op.source };
    for (let attempt = 1; ; attempt++) {
      const vs = await this.deps.states.read(name);
      const change = await decide(vs, split, plan);
      if ('unchanged' in change) {
        if (!vs) throw new Error('no change without a state');
        return vs;
      }
      try {
        return await this.deps.executor.commit(vs, change.next, who, change.announce);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'STALE_REVISION' || attempt >= MAX_ATTEMPTS)
          throw err;
      }
    }
  }

  private async etagOf(name: string): Promise<string> {
    const current = (await this.deps.executor.readWeights()).get(name);
    if (!current) throw new NotFoundError(`split "${name}" has no weights to read`);
    return current.etag;
  }

  async start(name: string, op: Operator & { version?: string }): Promise<RolloutStatusView> {
    const { plan } = this.planned(name);
    const vs = await this.change(name, op, async (current, split) => {
      if (current && isActive(current.state)) {
        throw new RolloutConflictError(
          `a rollout of "${name}" is already ${current.state.status} (step ${current.state.step + 1}/${current.state.steps.length}); abort it or let it finish first`,
        );
      }
      const now = this.now();
      const version =
        op.version ?? split.backends.find((b) => b.name === split.canary)?.version ?? null;
      return {
        next: {
          split: name,
          status: 'progressing',
          step: 0,
          steps: plan.steps.map((s) => ({ ...s })),
          applied: false,
          announce: 'started',
          basedOn: await this.etagOf(name),
          stepStartedAt: null,
          decideAfter: now,
          version,
          startedAt: now,
          startedBy: op.actor,
          updatedAt: now,
          finishedAt: null,
          reason: op.reason ?? `started by ${op.actor}`,
          pausedBy: null,
          checks: {},
          lastAnalysisAt: null,
          rollback: null,
        },
      };
    });
    return this.view(vs, plan);
  }

  private requireActive(vs: VersionedState | null, name: string, verb: string): VersionedState {
    if (!vs) throw new NotFoundError(`split "${name}" has had no rollout yet: nothing to ${verb}`);
    if (!isActive(vs.state)) {
      throw new RolloutConflictError(
        `the rollout of "${name}" is ${vs.state.status.replace('_', ' ')}: nothing to ${verb}; start a new one`,
      );
    }
    return vs;
  }

  async pause(name: string, op: Operator): Promise<RolloutStatusView> {
    const { plan } = this.planned(name);
    const vs = await this.change(name, op, (current) => {
      const { state } = this.requireActive(current, name, 'pause');
      if (state.status === 'paused') return { unchanged: true };
      return {
        next: {
          ...state,
          status: 'paused',
          pausedBy: 'operator',
          reason: op.reason ?? `paused by ${op.actor}`,
          updatedAt: this.now(),
        },
        announce: 'paused',
      };
    });
    return this.view(vs, plan);
  }

  async resume(name: string, op: Operator): Promise<RolloutStatusView> {
    const { plan } = this.planned(name);
    const vs = await this.change(name, op, (current) => {
      const { state } = this.requireActive(current, name, 'resume');
      if (state.status === 'progressing') return { unchanged: true };
      const now = this.now();
      return {
        next: {
          ...state,
          status: 'progressing',
          pausedBy: null,
          // Re-apply the step's weights (they may have been changed by hand), and decide on
          // fresh check results only.
          applied: false,
          announce: null,
          basedOn: null,
          decideAfter: now,
          reason: op.reason ?? `resumed by ${op.actor}`,
          updatedAt: now,
        },
        announce: 'resumed',
      };
    });
    return this.view(vs, plan);
  }

  async promote(name: string, op: Operator): Promise<RolloutStatusView> {
    const { plan } = this.planned(name);
    const vs = await this.change(name, op, async (current) => {
      const { state } = this.requireActive(current, name, 'promote');
      if (!state.applied) {
        throw new RolloutConflictError(
          `the rollout of "${name}" is still applying ${targetPercent(state)}%; try again in a moment`,
        );
      }
      const last = state.step + 1 >= state.steps.length;
      const reason = op.reason ?? `promoted by ${op.actor}`;
      return {
        next: {
          ...state,
          ...(last
            ? { status: 'completed' as const, announce: 'completed' as const }
            : {
                status: 'progressing' as const,
                step: state.step + 1,
                announce: 'promoted' as const,
              }),
          applied: false,
          basedOn: await this.etagOf(name),
          pausedBy: null,
          reason,
          updatedAt: this.now(),
        },
      };
    });
    return this.view(vs, plan);
  }

  /** Rolls the canary back to 0 % now, from this replica, then records it. */
  async abort(name: string, op: Operator): Promise<RolloutStatusView> {
    const { plan } = this.planned(name);
    const intent = await this.change(name, op, (current) => {
      const { state } = this.requireActive(current, name, 'abort');
      const now = this.now();
      const reason = op.reason ?? `aborted by ${op.actor}`;
      return {
        next: {
          ...state,
          status: 'rolled_back',
          applied: false,
          announce: 'rolled_back',
          basedOn: null,
          pausedBy: null,
          reason,
          updatedAt: now,
          rollback: {
            trigger: op.source,
            actor: op.actor,
            at: now,
            reason,
            check: null,
            value: null,
            threshold: null,
          },
        },
      };
    });
    const current = (await this.deps.executor.readWeights()).get(name);
    if (!current) throw new NotFoundError(`split "${name}" has no weights to read`);
    try {
      return this.view(
        await this.deps.executor.apply(intent, current, { actor: op.actor, source: op.source }),
        plan,
      );
    } catch (err) {
      // The controller got there first (it applies pending rollbacks too): the weights are written.
      if ((err as { code?: unknown }).code !== 'STALE_REVISION') throw err;
      const vs = await this.deps.states.read(name);
      return this.view(vs ?? intent, plan);
    }
  }
}
