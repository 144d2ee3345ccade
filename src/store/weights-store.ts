import { ReplyError, type Redis } from 'ioredis';
import type { SplitsConfig } from '../config/splits';
import { MAX_WEIGHT } from '../api-contract/limits';
import { allZero, isWeight } from '../api-contract/weight-rules';
import {
  AppError,
  CorruptDataError,
  LeaseLostError,
  NotFoundError,
  PreconditionFailedError,
  RedisUnavailableError,
  ValidationError,
  WriteNotReplicatedError,
} from '../errors';
import type { Logger } from '../log/logger';
import { createKeys, type Keys } from './keys';
import { withScripts, type ScriptedRedis } from './lua';
import { ifMatchCondition } from './if-match';
import { awaitReplicas, type ReplicaAcks } from './replica-acks';
import {
  canonicalStored,
  clip,
  compareBytes,
  etagOf,
  isWeightText,
  type StoredWeights,
} from './stored-weights';
import type {
  AuditEvent,
  ChangeAction,
  ChangeSource,
  Fence,
  Weights,
  WriteRequest,
  WriteResult,
} from './types';

type ScriptReply = (string | null)[];

export interface WeightsStoreOptions {
  /** The reads that feed /traefik and change tracking. */
  redis: Redis;
  /** Writes and the audit event each returns (default `redis`): a connection of their own. */
  writer?: Redis;
  /** The audit history the open API reads (default `redis`): a connection of its own. */
  historyReader?: Redis;
  keyPrefix: string;
  splits: SplitsConfig;
  log: Logger;
  /** Approximate cap of each split's audit stream. */
  auditMaxLen?: number;
  /** Replicas that must confirm each write before it is acknowledged (REDIS_WRITE_REPLICAS). */
  acks?: ReplicaAcks;
}

export interface StoredRead {
  split: string;
  stored: StoredWeights;
  canonical: string;
  etag: string;
}

/**
 * The one write path for weights, and the reads that go with it. Every change, from the API, the
 * CLI, the controller or a script through them, is one atomic Lua call that checks If-Match, writes
 * the hash and appends the audit event.
 */
export class WeightsStore {
  readonly keys: Keys;
  private readonly redis: Redis;
  private readonly writer: ScriptedRedis;
  private readonly historyReader: Redis;
  private readonly splits: SplitsConfig;
  private readonly log: Logger;
  private readonly maxLen: number;
  private readonly acks: ReplicaAcks | undefined;

  constructor(options: WeightsStoreOptions) {
    this.keys = createKeys(options.keyPrefix);
    this.acks = options.acks;
    this.splits = options.splits;
    this.log = options.log;
    this.maxLen = options.auditMaxLen ?? 10_000;
    this.redis = options.redis;
    this.writer = withScripts(options.writer ?? options.redis);
    this.historyReader = options.historyReader ?? options.redis;
  }

  /** Reads every split's weights key in one round trip. Throws RedisUnavailableError. */
  readAll(): Promise<StoredRead[]> {
    return this.read(this.splits.splits.map((s) => s.name));
  }

  /** Reads the weights keys of the named splits in one round trip. Throws RedisUnavailableError. */
  async read(names: readonly string[]): Promise<StoredRead[]> {
    const pipeline = this.redis.pipeline();
    for (const name of names) pipeline.hgetall(this.keys.weights(name));
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await pipeline.exec();
    } catch (cause) {
      throw new RedisUnavailableError('could not read weights from Redis', { cause });
    }
    if (replies === null) throw new RedisUnavailableError('Redis returned no reply to the read');
    const reads: StoredRead[] = [];
    for (let i = 0; i < names.length; i++) {
      const [err, value] = replies[i];
      let stored: StoredWeights;
      if (err) {
        if (!(err instanceof ReplyError) || !err.message.startsWith('WRONGTYPE')) {
          throw new RedisUnavailableError('could not read weights from Redis', { cause: err });
        }
        stored = { kind: 'wrong-type', type: await this.typeOf(this.keys.weights(names[i])) };
      } else {
        const fields = value as Record<string, string>;
        stored = Object.keys(fields).length === 0 ? { kind: 'missing' } : { kind: 'hash', fields };
      }
      const canonical = canonicalStored(stored);
      reads.push({ split: names[i], stored, canonical, etag: etagOf(canonical) });
    }
    return reads;
  }

  private async typeOf(key: string): Promise<string> {
    try {
      return await this.redis.type(key);
    } catch (cause) {
      throw new RedisUnavailableError('could not read weights from Redis', { cause });
    }
  }

  /**
   * Writes every backend's weight and appends the audit event, atomically. Validates first:
   * nothing is written when the request is wrong. With replica acknowledgements configured, throws
   * WriteNotReplicatedError (carrying the WriteResult) when too few replicas confirm in time.
   */
  async write(req: WriteRequest, fence?: Fence): Promise<WriteResult> {
    const split = this.splits.byName.get(req.split);
    if (!split)
      throw new NotFoundError(`split "${req.split}" is not declared in ${this.splits.file}`);
    const names = split.backends.map((b) => b.name);
    const problems = [];
    for (const name of Object.keys(req.weights)) {
      if (!names.includes(name) || !Object.hasOwn(req.weights, name)) {
        problems.push({
          path: `weights.${name}`,
          message: `is not a backend of "${split.name}" (${names.join(', ')})`,
        });
      }
    }
    for (const name of names) {
      const w = Object.hasOwn(req.weights, name) ? req.weights[name] : undefined;
      if (w === undefined)
        problems.push({
          path: `weights.${name}`,
          message: 'is required: give every backend a weight',
        });
      else if (!isWeight(w)) {
        problems.push({
          path: `weights.${name}`,
          message: `must be an integer from 0 to ${MAX_WEIGHT}`,
        });
      }
    }
    if (problems.length === 0 && allZero(req.weights)) {
      problems.push({ path: 'weights', message: 'at least one backend needs a weight above 0' });
    }
    if (problems.length > 0) throw new ValidationError('the weights are invalid', problems);

    const sorted = [...names].sort(compareBytes);
    const pairs = sorted.flatMap((n) => [n, String(req.weights[n])]);
    let reply: ScriptReply;
    try {
      reply = (await this.writer.writeWeights(
        this.keys.weights(split.name),
        this.keys.events(split.name),
        this.keys.recorded(split.name),
        fence?.key ?? this.keys.weights(split.name),
        ifMatchCondition(req.ifMatch),
        this.maxLen,
        req.action,
        req.source,
        req.actor,
        req.reason ?? '',
        req.details ? JSON.stringify(req.details) : '',
        fence?.token ?? '',
        ...pairs,
      )) as ScriptReply;
    } catch (cause) {
      if (cause instanceof ReplyError && (cause as Error).message.includes('WRONGTYPE')) {
        throw new CorruptDataError(
          `a key of split "${split.name}" holds the wrong type, nothing was changed; ` +
            `check it with \`redis-cli TYPE ${this.keys.events(split.name)}\` (a stream) and ` +
            `\`redis-cli TYPE ${this.keys.recorded(split.name)}\` (a string), and delete the wrong one`,
          { cause },
        );
      }
      if (cause instanceof ReplyError) {
        // Redis answered but refused.
        throw new AppError(
          'REDIS_REJECTED',
          500,
          `Redis refused the write, nothing was changed: ${(cause as Error).message}`,
          { cause },
        );
      }
      throw new RedisUnavailableError('Redis did not take the write; nothing was changed', {
        cause,
      });
    }
    if (reply[0] === 'PRECONDITION') {
      throw new PreconditionFailedError(
        `split "${split.name}" has changed since the version named by If-Match`,
        `"${reply[1]}"`,
      );
    }
    if (reply[0] === 'FENCED') {
      throw new LeaseLostError(`${fence?.key} is held by another writer; nothing was changed`);
    }
    const [, etag, id, externalId] = reply as string[];
    if (externalId)
      this.log.info(
        { split: split.name, event: externalId },
        'recorded an external change before the write',
      );
    const weights: Weights = {};
    for (const n of names) weights[n] = req.weights[n];
    const event = await this.eventById(split.name, id);
    const result: WriteResult = { etag: `"${etag}"`, weights, event };
    try {
      await awaitReplicas(this.writer, this.acks, `the write to split "${split.name}"`);
    } catch (err) {
      throw err instanceof WriteNotReplicatedError ? err.withWritten(result) : err;
    }
    return result;
  }

  /**
   * Records a change made outside the service (redis-cli) as one `external` audit event. Safe to
   * call from every replica: the script records it once. Returns the event, or undefined; throws
   * WriteNotReplicatedError (carrying the event) when too few replicas confirm the record in time.
   */
  async recordExternal(split: string): Promise<AuditEvent | undefined> {
    let reply: ScriptReply;
    try {
      reply = (await this.writer.recordExternal(
        this.keys.weights(split),
        this.keys.events(split),
        this.keys.recorded(split),
        this.maxLen,
      )) as ScriptReply;
    } catch (cause) {
      throw new RedisUnavailableError('could not record an external change', { cause });
    }
    if (reply[0] !== 'RECORDED') return undefined;
    const event = await this.eventById(split, reply[1] as string);
    try {
      await awaitReplicas(this.writer, this.acks, `the record of an external change to "${split}"`);
    } catch (err) {
      throw err instanceof WriteNotReplicatedError ? err.withWritten(event) : err;
    }
    return event;
  }

  /** Audit events, newest first. */
  async history(split: string, limit: number): Promise<AuditEvent[]> {
    let entries: [string, string[]][];
    try {
      entries = await this.historyReader.xrevrange(
        this.keys.events(split),
        '+',
        '-',
        'COUNT',
        limit,
      );
    } catch (cause) {
      if (cause instanceof ReplyError && (cause as Error).message.startsWith('WRONGTYPE')) {
        const key = this.keys.events(split);
        throw new CorruptDataError(
          `the audit trail of "${split}" cannot be read: ${key} is not a stream; ` +
            `inspect it with \`redis-cli TYPE ${key}\` and delete it with \`redis-cli DEL ${key}\``,
          { cause },
        );
      }
      throw new RedisUnavailableError('could not read the audit trail', { cause });
    }
    return entries.map(([id, fields]) => toEvent(split, id, fields));
  }

  private async eventById(split: string, id: string): Promise<AuditEvent> {
    const entries = await this.writer.xrange(this.keys.events(split), id, id);
    if (entries.length === 0) throw new Error(`audit event ${id} of "${split}" vanished`);
    return toEvent(split, id, entries[0][1]);
  }
}

interface ParsedWeights {
  weights: Weights | null;
  text?: Record<string, string>;
  corrupt?: string;
}

/**
 * Weights as recorded by the Lua scripts; keys sorted, since cjson writes them in hash order. A
 * weight is a number; stored text that was not a weight is a string, kept apart.
 */
function parseWeights(what: string, raw: string | undefined): ParsedWeights {
  if (!raw) return { weights: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { weights: null, corrupt: `${what} is not JSON: ${JSON.stringify(clip(raw))}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { weights: null, corrupt: `${what} is not an object: ${JSON.stringify(clip(raw))}` };
  }
  const weights: Weights = {};
  const text: Record<string, string> = {};
  for (const k of Object.keys(parsed).sort()) {
    const v = (parsed as Record<string, unknown>)[k];
    if (typeof v === 'number' && isWeightText(String(v))) weights[k] = v;
    else text[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return { weights, ...(Object.keys(text).length > 0 && { text }) };
}

function parseDetails(raw: string | undefined): {
  details?: Record<string, unknown>;
  corrupt?: string;
} {
  if (!raw) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return { details: parsed as Record<string, unknown> };
    }
  } catch {
    // named below
  }
  return { corrupt: `details is not a JSON object: ${JSON.stringify(clip(raw))}` };
}

/** An audit event from its stream entry; what cannot be read is left out and named in `corrupt`. */
export function toEvent(split: string, id: string, flat: string[]): AuditEvent {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i], flat[i + 1]);
  const before = parseWeights('before', f.get('before'));
  const after = parseWeights('after', f.get('after'));
  const details = parseDetails(f.get('details'));
  const corrupt = [before.corrupt, after.corrupt, details.corrupt].filter(
    (c): c is string => c !== undefined,
  );
  return {
    id,
    time: new Date(Number(id.split('-')[0])).toISOString(),
    split,
    action: (f.get('action') ?? '') as ChangeAction,
    source: (f.get('source') ?? '') as ChangeSource,
    actor: f.get('actor') ?? '',
    reason: f.get('reason') ?? '',
    before: before.weights,
    after: after.weights,
    ...(before.text && { beforeText: before.text }),
    ...(after.text && { afterText: after.text }),
    ...(details.details && { details: details.details }),
    ...(corrupt.length > 0 && { corrupt }),
  };
}
