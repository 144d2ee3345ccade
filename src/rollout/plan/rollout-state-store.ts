import type { Redis } from 'ioredis';
import { LeaseLostError, RedisUnavailableError, WriteNotReplicatedError } from '../../errors';
import { awaitReplicas, type ReplicaAcks } from '../../store/replica-acks';
import { withScripts } from '../../store/lua';
import { compareBytes, type StoredWeights } from '../../store/stored-weights';
import type { ChangeAction, ChangeSource, Weights } from '../../store/types';
import {
  stateFromJson,
  stateToJson,
  type RolloutState,
  type VersionedState,
} from './rollout-state';
import { CorruptStateError } from './corrupt-state-error';
import { StaleRevisionError } from './stale-revision-error';
import { WeightsChangedError } from './weights-changed-error';

/** The weights half of a transition: written in the same script as the state. */
export interface TransitionWeights {
  weights: Weights;
  action: ChangeAction;
  source: ChangeSource;
  actor: string;
  reason: string;
  details: Record<string, unknown>;
}

export interface TransitionResult {
  revision: number;
  /** Audit event id of the weights write, if one was made. */
  eventId: string | null;
  /** The weights before the write, as stored (values may be any text). */
  before: Record<string, unknown> | null;
}

export interface RolloutStateStoreOptions {
  redis: Redis;
  /** `split => {prefix}weights:{split}` and the audit keys that go with it. */
  weightsKey?: (split: string) => string;
  eventsKey?: (split: string) => string;
  recordedKey?: (split: string) => string;
  auditMaxLen?: number;
  /** `split => {prefix}rollout:{split}` */
  stateKey: (split: string) => string;
  /** `{prefix}rollout-lease` */
  leaseKey: string;
  /** Replicas that must confirm each write before it is acknowledged (REDIS_WRITE_REPLICAS). */
  acks?: ReplicaAcks;
}

/** Reads and writes rollout states; every write is a compare-and-set on the revision. */
export class RolloutStateStore {
  constructor(private readonly options: RolloutStateStoreOptions) {}

  /**
   * Writes a transition in one fenced script: the state (compare-and-set on `expectRevision`)
   * and, when given, the weights and their audit event. `basis` is what the weights must still
   * hold (as read) for it to apply; undefined writes whatever they hold.
   * Throws StaleRevisionError, WeightsChangedError, LeaseLostError, RedisUnavailableError, and
   * WriteNotReplicatedError (carrying the TransitionResult: the transition was written).
   */
  async transition(
    state: RolloutState,
    options: {
      expectRevision: number;
      fenceToken?: string;
      basis?: StoredWeights;
      write?: TransitionWeights;
    },
  ): Promise<TransitionResult> {
    const { weightsKey, eventsKey, recordedKey } = this.options;
    if (!weightsKey || !eventsKey || !recordedKey) {
      throw new Error(
        'RolloutStateStore needs weightsKey, eventsKey and recordedKey for transitions',
      );
    }
    const basis = options.basis;
    const expected =
      basis === undefined
        ? '*'
        : basis.kind === 'missing'
          ? ''
          : basis.kind === 'wrong-type'
            ? '!'
            : JSON.stringify(basis.fields);
    const write = options.write;
    const pairs = write
      ? Object.keys(write.weights)
          .sort(compareBytes)
          .flatMap((k) => [k, String(write.weights[k])])
      : [];
    let reply: (string | number)[];
    try {
      reply = (await withScripts(this.options.redis).rolloutTransition(
        weightsKey(state.split),
        eventsKey(state.split),
        recordedKey(state.split),
        this.options.leaseKey,
        this.options.stateKey(state.split),
        options.fenceToken ?? '',
        String(options.expectRevision),
        expected,
        write ? '1' : '0',
        this.options.auditMaxLen ?? 10_000,
        write?.action ?? '',
        write?.source ?? '',
        write?.actor ?? '',
        write?.reason ?? '',
        write ? JSON.stringify(write.details) : '',
        state.status,
        String(state.step),
        stateToJson(state),
        ...pairs,
      )) as (string | number)[];
    } catch (cause) {
      throw new RedisUnavailableError(
        `could not write the rollout transition of "${state.split}"; nothing was changed`,
        { cause },
      );
    }
    if (reply[0] === 'FENCED')
      throw new LeaseLostError('the rollout lease is held by another replica');
    if (reply[0] === 'CONFLICT') throw new StaleRevisionError(Number(reply[1]));
    if (reply[0] === 'PRECONDITION') {
      throw new WeightsChangedError(
        `the weights of "${state.split}" changed since they were read; nothing was changed`,
      );
    }
    let before: Record<string, unknown> | null = null;
    if (typeof reply[4] === 'string' && reply[4] !== '') {
      try {
        before = JSON.parse(reply[4]) as Record<string, unknown>;
      } catch {
        before = null;
      }
    }
    const result: TransitionResult = {
      revision: Number(reply[1]),
      eventId: typeof reply[2] === 'string' && reply[2] !== '' ? reply[2] : null,
      before,
    };
    await this.replicated(`the rollout transition of "${state.split}"`, result);
    return result;
  }

  private async replicated(what: string, written: unknown): Promise<void> {
    try {
      await awaitReplicas(this.options.redis, this.options.acks, what);
    } catch (err) {
      throw err instanceof WriteNotReplicatedError ? err.withWritten(written) : err;
    }
  }

  async read(split: string): Promise<VersionedState | null> {
    let fields: Record<string, string>;
    try {
      fields = await this.options.redis.hgetall(this.options.stateKey(split));
    } catch (cause) {
      throw new RedisUnavailableError(`could not read the rollout state of "${split}"`, { cause });
    }
    if (fields.state === undefined) return null;
    const parsed = stateFromJson(fields.state);
    if ('problems' in parsed) {
      throw new CorruptStateError(
        `${this.options.stateKey(split)} does not hold a valid rollout state (${parsed.problems}); ` +
          'delete the key to forget the rollout',
      );
    }
    return { state: parsed.state, revision: Number(fields.revision ?? 0) };
  }

  /**
   * Writes `state` if the stored revision is still `expectRevision` (0: no state yet; undefined:
   * any) and, with a fence token, only while that token holds the rollout lease.
   * Returns the new revision. Throws StaleRevisionError, LeaseLostError, RedisUnavailableError,
   * and WriteNotReplicatedError (carrying the new revision: the state was written).
   */
  async write(
    state: RolloutState,
    options: { expectRevision?: number; fenceToken?: string },
  ): Promise<number> {
    let reply: (string | number)[];
    try {
      reply = (await withScripts(this.options.redis).writeRolloutState(
        this.options.stateKey(state.split),
        this.options.leaseKey,
        options.fenceToken ?? '',
        options.expectRevision === undefined ? '' : String(options.expectRevision),
        state.status,
        String(state.step),
        stateToJson(state),
      )) as (string | number)[];
    } catch (cause) {
      throw new RedisUnavailableError(`could not write the rollout state of "${state.split}"`, {
        cause,
      });
    }
    if (reply[0] === 'FENCED')
      throw new LeaseLostError('the rollout lease is held by another replica');
    if (reply[0] === 'CONFLICT') throw new StaleRevisionError(Number(reply[1]));
    const revision = Number(reply[1]);
    await this.replicated(`the rollout state of "${state.split}"`, revision);
    return revision;
  }
}
