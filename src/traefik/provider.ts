import zlib from 'node:zlib';
import type { SplitConfig, SplitsConfig } from '../config/splits';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import { sharesOf, validateStoredWeights, type StoredWeights } from '../store/stored-weights';
import { WriteNotReplicatedError } from '../errors';
import type { AuditEvent, Weights } from '../store/types';
import type { StoredRead, WeightsStore } from '../store/weights-store';
import YAML from 'yaml';
import { IncrementalSerializer } from './incremental-serializer';
import { configEtag, type SerializedConfiguration } from './serialize';
import type { Snapshot } from './snapshot-file';

/** Where the weights a split serves come from. */
export type WeightsSource = 'redis' | 'default' | 'last-valid';

export interface SplitState {
  split: SplitConfig;
  stored: StoredWeights;
  /** ETag of the stored value (what If-Match compares to). */
  etag: string;
  valid: boolean;
  problems: string[];
  served: Weights;
  source: WeightsSource;
}

export interface ServedBody extends SerializedConfiguration {
  /** gzip of the JSON body, built on first use. */
  gzip(): Buffer;
}

export interface ProviderOptions {
  splits: SplitsConfig;
  store: Pick<WeightsStore, 'read' | 'readAll' | 'recordExternal'>;
  metrics: Metrics;
  log: Logger;
  /** Called once per external change this replica recorded (it may be another replica's turn). */
  onExternalChange?: (split: string, before: Weights | null, after: Weights | null) => void;
  /** Called when the weights served for a split change. */
  onServedChange?: (split: string, served: Weights) => void;
  /** Called when a split's state is replaced after its stored value changed (read-only use). */
  onStateChange?: (state: SplitState) => void;
  /**
   * Called when a new body is published; `noticedAt` (performance.now()) is when the refresh that
   * built it was first asked for, i.e. when the change was noticed.
   */
  onPublish?: (body: ServedBody, noticedAt: number | undefined) => void;
}

/**
 * The read side, in Traefik's own steps: fetch the stored weights, validate them split by split,
 * render, serialize. A refresh that changes nothing is detected by the stored values and skipped,
 * so Traefik sees the same bytes. A split whose stored weights are invalid keeps its last valid
 * weights; a failed read keeps the whole last good body (never an empty or partial configuration: docs/architecture.md).
 */
export class ConfigProvider {
  private readonly states = new Map<string, SplitState>();
  private body: ServedBody | undefined;
  private lastCanonical = new Map<string, string>();
  private readonly serializer: IncrementalSerializer;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  /** Splits to read on the queued refresh; 'all' for a full resync. */
  private pending: Set<string> | 'all' = new Set();
  /** When the first refresh request of the pending batch was made. */
  private pendingSince: number | undefined;
  private redisOk = false;
  /** Set while the body served is the last-good snapshot read at start, until Redis answers. */
  private seeded: Pick<Snapshot, 'writtenAt' | 'served'> | undefined;
  lastSuccessAt: number | undefined;
  lastError: string | undefined;

  constructor(private readonly options: ProviderOptions) {
    this.serializer = new IncrementalSerializer(options.splits.splits);
  }

  /** The body to serve, or undefined when no good configuration exists yet. */
  current(): ServedBody | undefined {
    return this.body;
  }

  /** True while the last read of Redis failed and the body served is the last good one. */
  get stale(): boolean {
    return !this.redisOk;
  }

  /**
   * Serves a last-good snapshot until Redis answers; only when no body exists yet (a body read
   * from Redis always wins). Returns whether it was taken.
   */
  seed(snapshot: Snapshot): boolean {
    if (this.body !== undefined) return false;
    this.body = servedBody(snapshot.body);
    this.seeded = { writtenAt: snapshot.writtenAt, served: snapshot.served };
    this.options.metrics.configStale.set(1);
    return true;
  }

  /** The snapshot served, while no read of Redis has succeeded since it was taken. */
  get snapshot(): Pick<Snapshot, 'writtenAt' | 'served'> | undefined {
    return this.seeded;
  }

  state(split: string): SplitState | undefined {
    return this.states.get(split);
  }

  allStates(): SplitState[] {
    return this.options.splits.splits.flatMap((s) => this.states.get(s.name) ?? []);
  }

  /**
   * Re-reads Redis: the named splits, or every split when none are named. Calls made while a
   * refresh runs share one follow-up refresh that starts after it, so a caller that wrote before
   * calling always sees its write.
   */
  refresh(splits?: readonly string[]): Promise<void> {
    if (splits === undefined || this.body === undefined || this.seeded) this.pending = 'all';
    else if (this.pending !== 'all') for (const s of splits) this.pending.add(s);
    this.pendingSince ??= performance.now();
    if (this.queued) return this.queued;
    const previous = this.running ?? Promise.resolve();
    this.queued = previous.then(() => {
      this.queued = undefined;
      const names = this.pending;
      const since = this.pendingSince;
      this.pending = new Set();
      this.pendingSince = undefined;
      this.running = this.doRefresh(names, since).finally(() => {
        this.running = undefined;
      });
      return this.running;
    });
    return this.queued;
  }

  /**
   * The connection to Redis closed: say so at once (X-Config-Stale, /ready) rather than at the
   * next read. The next successful read clears it.
   */
  connectionLost(reason: string): void {
    if (this.lastSuccessAt === undefined) return;
    if (this.redisOk) {
      this.options.log.error(
        { reason },
        'Redis connection lost: serving the last good configuration',
      );
    }
    this.redisOk = false;
    this.lastError = reason;
    this.options.metrics.configStale.set(1);
  }

  private async doRefresh(names: Set<string> | 'all', since?: number): Promise<void> {
    const { store, metrics, log, splits } = this.options;
    let reads: StoredRead[];
    try {
      reads =
        names === 'all'
          ? await store.readAll()
          : await store.read([...names].filter((n) => splits.byName.has(n)));
    } catch (err) {
      if (names !== 'all') for (const n of names) this.refreshLater(n);
      metrics.redisErrors.inc({ operation: 'read' });
      if (this.redisOk || this.lastError === undefined) {
        log.error({ err }, 'Redis unreachable: serving the last good configuration');
      }
      this.redisOk = false;
      this.lastError = err instanceof Error ? err.message : String(err);
      metrics.configStale.set(1);
      return;
    }
    if (!this.redisOk && this.lastSuccessAt !== undefined)
      log.info('Redis is back: serving fresh weights');
    if (this.seeded) {
      log.info(
        { snapshotWrittenAt: this.seeded.writtenAt },
        'Redis answered: serving fresh weights instead of the last-good snapshot',
      );
      this.seeded = undefined;
    }
    this.redisOk = true;
    this.lastError = undefined;
    this.lastSuccessAt = Date.now();
    metrics.configStale.set(0);
    metrics.lastRefresh.set(this.lastSuccessAt / 1000);

    const changed: StoredRead[] = reads.filter(
      (r) => this.lastCanonical.get(r.split) !== r.canonical,
    );
    if (changed.length === 0 && this.body) return;
    for (const read of changed) this.apply(read);
    this.publish(since);
    // Outside the render path: an audit write must not delay serving the new weights.
    this.queueExternalChecks(changed.map((r) => r.split));
  }

  /** A targeted read that failed is retried with the next refresh. */
  private refreshLater(split: string): void {
    if (this.pending !== 'all') this.pending.add(split);
  }

  private apply(read: StoredRead): void {
    const { splits, metrics, log } = this.options;
    const split = splits.byName.get(read.split);
    if (!split) return;
    this.lastCanonical.set(read.split, read.canonical);
    const verdict = validateStoredWeights(split, read.stored);
    const previous = this.states.get(split.name);
    let state: SplitState;
    if (verdict.valid) {
      state = {
        split,
        stored: read.stored,
        etag: read.etag,
        valid: true,
        problems: [],
        served: verdict.weights,
        source: verdict.fromDefaults ? 'default' : 'redis',
      };
    } else {
      metrics.invalidWeights.inc({ split: split.name });
      const keep = previous?.served ?? { ...split.defaultWeights };
      log.warn(
        { split: split.name, problems: verdict.problems, serving: keep },
        'invalid weights in Redis: the split keeps its last valid weights',
      );
      state = {
        split,
        stored: read.stored,
        etag: read.etag,
        valid: false,
        problems: verdict.problems,
        served: keep,
        source: previous && previous.source !== 'default' ? 'last-valid' : 'default',
      };
    }
    this.serializer.update(split.name, state.served);
    this.states.set(split.name, state);
    if (!previous || JSON.stringify(previous.served) !== JSON.stringify(state.served)) {
      this.options.onServedChange?.(split.name, state.served);
    }
    this.options.onStateChange?.(state);
    metrics.splitValid.set({ split: split.name }, state.valid ? 1 : 0);
    const shares = sharesOf(state.served);
    for (const backend of split.backends) {
      metrics.canaryTrafficPercentage.set(
        { split: split.name, backend: backend.name },
        shares[backend.name] ?? 0,
      );
    }
  }

  private publish(since?: number): void {
    const started = process.hrtime.bigint();
    const json = this.serializer.json();
    const etag = configEtag(json);
    const changed = this.body?.etag !== etag;
    if (changed) this.body = servedBody(json, etag);
    this.options.metrics.renderDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (changed && this.body) this.options.onPublish?.(this.body, since);
  }

  /**
   * The periodic safety re-read, a slice at a time: change notifications do the real work, and
   * re-reading 10,000 hashes every second would cost more than it protects (docs/performance.md).
   */
  resyncSlice(batch: number): Promise<void> {
    const names = this.options.splits.splits.map((s) => s.name);
    if (names.length <= batch) return this.refresh();
    const slice: string[] = [];
    for (let i = 0; i < batch; i++) slice.push(names[(this.resyncCursor + i) % names.length]);
    this.resyncCursor = (this.resyncCursor + batch) % names.length;
    return this.refresh(slice);
  }

  private resyncCursor = 0;
  private readonly externalQueue = new Set<string>();
  private draining = false;

  /** Checks for changes made outside the service, a bounded number at a time. */
  private queueExternalChecks(splits: string[]): void {
    for (const s of splits) this.externalQueue.add(s);
    if (this.draining) return;
    this.draining = true;
    void (async () => {
      while (this.externalQueue.size > 0) {
        const chunk = [...this.externalQueue].slice(0, 100);
        for (const s of chunk) this.externalQueue.delete(s);
        await Promise.all(chunk.map((s) => this.recordExternal(s)));
      }
      this.draining = false;
    })();
  }

  private async recordExternal(split: string): Promise<void> {
    try {
      const event = await this.options.store.recordExternal(split);
      if (event) this.options.onExternalChange?.(split, event.before, event.after);
    } catch (err) {
      if (err instanceof WriteNotReplicatedError && err.written !== undefined) {
        const event = err.written as AuditEvent;
        this.options.onExternalChange?.(split, event.before, event.after);
        this.options.log.warn({ err, split }, 'recorded an external change, not yet replicated');
        return;
      }
      this.options.metrics.redisErrors.inc({ operation: 'record-external' });
      this.options.log.warn({ err, split }, 'could not record an external change');
    }
  }
}

/** A body to serve: the JSON bytes, with YAML and gzip built on first use. */
function servedBody(json: Buffer, etag: string = configEtag(json)): ServedBody {
  let gz: Buffer | undefined;
  let yaml: Buffer | undefined;
  return {
    json,
    etag,
    yaml: () =>
      (yaml ??= Buffer.from(YAML.stringify(JSON.parse(json.toString()), { lineWidth: 0 }))),
    gzip: () => (gz ??= zlib.gzipSync(json)),
  };
}
