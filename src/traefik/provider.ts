import zlib from 'node:zlib';
import type { SplitConfig, SplitsConfig } from '../config/splits';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import { sharesOf, validateStoredWeights, type StoredWeights } from '../store/stored-weights';
import type { Weights } from '../store/types';
import type { StoredRead, WeightsStore } from '../store/weights-store';
import { render } from './render';
import { serialize, type SerializedConfiguration } from './serialize';

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
  store: Pick<WeightsStore, 'readAll' | 'recordExternal'>;
  metrics: Metrics;
  log: Logger;
  /** Called once per external change this replica recorded (it may be another replica's turn). */
  onExternalChange?: (split: string, before: Weights | null, after: Weights | null) => void;
  /** Called when the weights served for a split change. */
  onServedChange?: (split: string, served: Weights) => void;
}

/**
 * The read side, in Traefik's own steps: fetch the stored weights, validate them split by split,
 * render, serialize. A refresh that changes nothing is detected by the stored values and skipped,
 * so Traefik sees the same bytes. A split whose stored weights are invalid keeps its last valid
 * weights; a failed read keeps the whole last good body (DESIGN "fail safe").
 */
export class ConfigProvider {
  private readonly states = new Map<string, SplitState>();
  private body: ServedBody | undefined;
  private lastCanonical = new Map<string, string>();
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private redisOk = false;
  lastSuccessAt: number | undefined;
  lastError: string | undefined;

  constructor(private readonly options: ProviderOptions) {}

  /** The body to serve, or undefined when no good configuration exists yet. */
  current(): ServedBody | undefined {
    return this.body;
  }

  /** True while the last read of Redis failed and the body served is the last good one. */
  get stale(): boolean {
    return !this.redisOk;
  }

  state(split: string): SplitState | undefined {
    return this.states.get(split);
  }

  allStates(): SplitState[] {
    return this.options.splits.splits.flatMap((s) => this.states.get(s.name) ?? []);
  }

  /**
   * Re-reads Redis. Calls made while a refresh runs share one follow-up refresh that starts after
   * it, so a caller that wrote before calling always sees its write.
   */
  refresh(): Promise<void> {
    if (this.queued) return this.queued;
    const previous = this.running ?? Promise.resolve();
    this.queued = previous.then(() => {
      this.queued = undefined;
      this.running = this.doRefresh().finally(() => {
        this.running = undefined;
      });
      return this.running;
    });
    return this.queued;
  }

  private async doRefresh(): Promise<void> {
    const { store, metrics, log } = this.options;
    let reads: StoredRead[];
    try {
      reads = await store.readAll();
    } catch (err) {
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
    this.publish();
    // Outside the render path: an audit write must not delay serving the new weights.
    for (const read of changed) void this.recordExternal(read.split);
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
    this.states.set(split.name, state);
    if (!previous || JSON.stringify(previous.served) !== JSON.stringify(state.served)) {
      this.options.onServedChange?.(split.name, state.served);
    }
    metrics.splitValid.set({ split: split.name }, state.valid ? 1 : 0);
    const shares = sharesOf(state.served);
    for (const backend of split.backends) {
      metrics.canaryTrafficPercentage.set(
        { split: split.name, backend: backend.name },
        shares[backend.name] ?? 0,
      );
      if (backend.version) {
        metrics.deploymentVersion.set(
          { split: split.name, backend: backend.name, version: backend.version },
          1,
        );
      }
    }
  }

  private publish(): void {
    const { splits, metrics } = this.options;
    const started = process.hrtime.bigint();
    const served = new Map<string, Weights>();
    for (const s of splits.splits) {
      const st = this.states.get(s.name);
      served.set(s.name, st ? st.served : s.defaultWeights);
    }
    const serialized = serialize(render(splits.splits, served));
    if (this.body?.etag !== serialized.etag) {
      let gz: Buffer | undefined;
      this.body = { ...serialized, gzip: () => (gz ??= zlib.gzipSync(serialized.json)) };
    }
    metrics.renderDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  private async recordExternal(split: string): Promise<void> {
    try {
      const event = await this.options.store.recordExternal(split);
      if (event) this.options.onExternalChange?.(split, event.before, event.after);
    } catch (err) {
      this.options.metrics.redisErrors.inc({ operation: 'record-external' });
      this.options.log.warn({ err, split }, 'could not record an external change');
    }
  }
}
