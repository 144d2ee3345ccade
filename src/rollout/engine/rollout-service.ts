import type { SplitConfig, SplitsConfig } from '../../config/splits';
import { traefikServicesOf } from '../analysis/traefik-checks';
import { NotFoundError } from '../../errors';
import type { ChangeSource } from '../../store/types';
import type { RolloutPlan } from '../../config/rollout-plan-schema';
import { isConcurrentChange } from '../plan/concurrent-change';
import { RolloutConflictError } from '../plan/rollout-conflict-error';
import type { Actor, CurrentWeights, RolloutExecutor } from './rollout-executor';
import type { VersionedState } from '../plan/rollout-state';
import type { RolloutStateStore } from '../plan/rollout-state-store';
import * as transitions from '../plan/rollout-transitions';
import type { Transition, TransitionContext } from '../plan/rollout-transitions';
import { describeRollout, leaderIdentity, type RolloutStatusView } from '../plan/rollout-status';

export interface RolloutServiceDeps {
  splits: SplitsConfig;
  states: RolloutStateStore;
  /** Where the open status reads go (default `states`): a connection apart from the writes. */
  statusStates?: Pick<RolloutStateStore, 'read'>;
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

const MAX_ATTEMPTS = 5;

/**
 * What operators do with rollouts (API, canaryctl). Starting, promoting and resuming record the
 * transition in Redis with the weights it was based on; the controller that holds the lease writes
 * the weights at its next tick, unless they changed meanwhile (the operator's change wins). Abort
 * and finalise write the weights themselves at once, with the state, in one script. Pause is state
 * only.
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
    const split = this.deps.splits.byName.get(vs.state.split);
    const services = split ? traefikServicesOf(split) : undefined;
    return describeRollout(vs.state, plan, this.now(), leader, services);
  }

  async status(name: string): Promise<RolloutStatusView> {
    const { plan } = this.planned(name);
    const vs = await (this.deps.statusStates ?? this.deps.states).read(name);
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

  /**
   * Reads the state and the weights, decides (pure), writes the transition in one script
   * (compare-and-set on the revision); again on a concurrent change. Answers the status after.
   */
  private async change(
    name: string,
    op: Operator,
    decide: (
      ctx: TransitionContext,
      vs: VersionedState | null,
      current: CurrentWeights,
    ) => Transition | null,
  ): Promise<RolloutStatusView> {
    const { split, plan } = this.planned(name);
    const who: Actor = { actor: op.actor, source: op.source };
    for (let attempt = 1; ; attempt++) {
      const vs = await this.deps.states.read(name);
      const current = await this.deps.executor.read(name);
      const ctx: TransitionContext = { split, plan, now: this.now(), actor: op.actor };
      const t = decide(ctx, vs, current);
      if (t === null) {
        if (!vs) throw new Error('no change without a state');
        return this.view(vs, plan);
      }
      let written: VersionedState;
      try {
        written = await this.deps.executor.run(vs, t, current, who);
      } catch (err) {
        if (!isConcurrentChange(err) || attempt >= MAX_ATTEMPTS) throw err;
        continue;
      }
      return this.view(written, plan);
    }
  }

  /** A change to the rollout the split has had, refused when it has had none yet. */
  private command(
    name: string,
    op: Operator,
    verb: string,
    decide: (
      ctx: TransitionContext,
      state: VersionedState['state'],
      current: CurrentWeights,
    ) => Transition | null,
  ): Promise<RolloutStatusView> {
    return this.change(name, op, (ctx, vs, current) => {
      if (!vs) {
        throw new RolloutConflictError(
          `split "${name}" has had no rollout yet: nothing to ${verb}`,
        );
      }
      return decide(ctx, vs.state, current);
    });
  }

  async start(name: string, op: Operator & { version?: string }): Promise<RolloutStatusView> {
    return this.change(name, op, (ctx, prev, current) => {
      const version =
        op.version ?? ctx.split.backends.find((b) => b.name === ctx.split.canary)?.version ?? null;
      return transitions.start(ctx, prev?.state ?? null, current.view, { ...op, version });
    });
  }

  async pause(name: string, op: Operator): Promise<RolloutStatusView> {
    return this.command(name, op, 'pause', (ctx, state) => transitions.pause(ctx, state, op));
  }

  async resume(name: string, op: Operator): Promise<RolloutStatusView> {
    return this.command(name, op, 'resume', (ctx, state, current) =>
      transitions.resume(ctx, state, current.view, op),
    );
  }

  async promote(name: string, op: Operator): Promise<RolloutStatusView> {
    return this.command(name, op, 'promote', (ctx, state, current) =>
      transitions.promote(ctx, state, current.view, op),
    );
  }

  /** Rolls the canary back to 0 % now, from this replica, with the state, in one write. */
  async abort(name: string, op: Operator): Promise<RolloutStatusView> {
    return this.command(name, op, 'abort', (ctx, state) => transitions.abort(ctx, state, op));
  }

  /**
   * Ends a completed rollout once the stable backend runs the new version: the stable serves
   * 100 % again and the state records the version it runs. Written at once.
   */
  async finalise(name: string, op: Operator): Promise<RolloutStatusView> {
    return this.command(name, op, 'finalise', (ctx, state, current) =>
      transitions.finalise(ctx, state, current.view, op),
    );
  }
}
