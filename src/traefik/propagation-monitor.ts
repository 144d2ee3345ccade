import { request } from 'undici';
import type { SplitConfig, SplitsConfig } from '../config/splits';
import { AppError } from '../errors';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import type { Weights } from '../store/types';
import { childServiceName } from './render';

/** What one Traefik instance shows for one split. */
export interface TraefikView {
  traefik: string;
  /** True when the instance's weighted service equals what the service serves now. */
  applied: boolean;
  /** ISO time since which it has been applied (or since which it lags). */
  since: string | null;
  /** Children and weights as that Traefik shows them; null when it could not be read. */
  weights: Record<string, number> | null;
  error?: string;
}

export interface PropagationMonitorOptions {
  traefikUrls: string[];
  splits: SplitsConfig;
  /** The weights being served for a split right now. */
  served: (split: string) => Weights | undefined;
  metrics: Metrics;
  log: Logger;
  intervalMs: number;
  /** Interval while somebody waits for a change to apply. */
  fastIntervalMs?: number;
  requestTimeoutMs?: number;
}

interface Waiter {
  split: string;
  expected: Record<string, number>;
  resolve: () => void;
}

/** The weighted children a split's service has for given weights, as Traefik shows them. */
export function expectedChildren(split: SplitConfig, weights: Weights): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of split.backends) {
    const w = weights[b.name] ?? 0;
    if (w > 0) out[stripProvider(childServiceName(split, b.name))] = w;
  }
  return out;
}

function stripProvider(name: string): string {
  return name.endsWith('@http') ? name.slice(0, -'@http'.length) : name;
}

function sameChildren(a: Record<string, number> | null, b: Record<string, number>): boolean {
  if (a === null) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/**
 * Confirms that Traefik really applied what the service serves, through Traefik's API: it reads each
 * Traefik's `/api/http/services/<split>@http` and compares the weighted children.
 */
export class PropagationMonitor {
  private readonly views = new Map<string, TraefikView>();
  /** When the served weights of a split last changed, to time the propagation. */
  private readonly changedAt = new Map<string, { key: string; at: number; observed: boolean }>();
  private readonly waiters = new Set<Waiter>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly options: PropagationMonitorOptions) {}

  get enabled(): boolean {
    return this.options.traefikUrls.length > 0;
  }

  start(): void {
    if (!this.enabled) return;
    const tick = (): void => {
      const delay =
        this.waiters.size > 0 ? (this.options.fastIntervalMs ?? 100) : this.options.intervalMs;
      this.timer = setTimeout(() => void this.poll().finally(tick), delay);
      this.timer.unref();
    };
    void this.poll().finally(tick);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters) w.resolve();
    this.waiters.clear();
  }

  /** Called when the served weights of a split change: starts the propagation clock. */
  noteChange(splitName: string, weights: Weights): void {
    const split = this.options.splits.byName.get(splitName);
    if (!this.enabled || !split) return;
    const key = JSON.stringify(expectedChildren(split, weights));
    if (this.changedAt.get(splitName)?.key !== key) {
      this.changedAt.set(splitName, { key, at: Date.now(), observed: false });
    }
  }

  /**
   * Every Traefik's view of a split. Traefik is read every `intervalMs`, and the served weights may
   * have changed since the last read: `applied` is judged against what is served now, so a view
   * read before a write never says that write is applied.
   */
  viewsOf(split: string): TraefikView[] {
    const config = this.options.splits.byName.get(split);
    const servedNow = config ? this.options.served(split) : undefined;
    const expected = config && servedNow ? expectedChildren(config, servedNow) : null;
    return this.options.traefikUrls.map((traefik) => {
      const seen = this.views.get(`${split} ${traefik}`) ?? {
        traefik,
        applied: false,
        since: null,
        weights: null,
        error: 'not read yet',
      };
      const applied = expected !== null && sameChildren(seen.weights, expected);
      if (applied === seen.applied) return seen;
      // The served weights changed after the last read: it lags (or matches) since that change.
      const changed = this.changedAt.get(split)?.at;
      return {
        ...seen,
        applied,
        since: changed === undefined ? null : new Date(changed).toISOString(),
      };
    });
  }

  /**
   * Resolves once every listed Traefik shows `weights` for the split; throws a 504 naming the
   * instances that lag when `timeoutMs` passes first.
   */
  async waitApplied(
    splitName: string,
    weights: Weights,
    timeoutMs: number,
  ): Promise<TraefikView[]> {
    const split = this.options.splits.byName.get(splitName);
    if (!split) throw new Error(`unknown split ${splitName}`);
    const expected = expectedChildren(split, weights);
    const allApplied = (): boolean =>
      this.viewsOf(splitName).every((v) => sameChildren(v.weights, expected));
    if (!allApplied()) {
      let waiter: Waiter | undefined;
      const applied = new Promise<void>((resolve) => {
        waiter = { split: splitName, expected, resolve };
        this.waiters.add(waiter);
      });
      let timeout: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timeout = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      void this.poll();
      const outcome = await Promise.race([applied, timedOut]);
      clearTimeout(timeout);
      if (waiter) this.waiters.delete(waiter);
      if (outcome === 'timeout' && !allApplied()) {
        const lagging = this.viewsOf(splitName)
          .filter((v) => !sameChildren(v.weights, expected))
          .map((v) => `${v.traefik}${v.error ? ` (${v.error})` : ''}`);
        throw new AppError(
          'PROPAGATION_TIMEOUT',
          504,
          `the write is stored and served, but not applied within ${timeoutMs} ms by: ${lagging.join(', ')}`,
        );
      }
    }
    return this.viewsOf(splitName);
  }

  /** Reads every Traefik once, for every split. Overlapping calls share nothing: skip instead. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const jobs: Promise<void>[] = [];
      for (const split of this.options.splits.splits) {
        for (const traefik of this.options.traefikUrls) jobs.push(this.read(split, traefik));
      }
      await Promise.all(jobs);
      for (const w of [...this.waiters]) {
        if (this.viewsOf(w.split).every((v) => sameChildren(v.weights, w.expected))) {
          this.waiters.delete(w);
          w.resolve();
        }
      }
    } finally {
      this.polling = false;
    }
  }

  private async read(split: SplitConfig, traefik: string): Promise<void> {
    const { served, metrics, log, requestTimeoutMs = 2_000 } = this.options;
    const key = `${split.name} ${traefik}`;
    const previous = this.views.get(key);
    const servedNow = served(split.name);
    const expected = servedNow ? expectedChildren(split, servedNow) : null;
    const servedKey = expected ? JSON.stringify(expected) : '';
    const change = this.changedAt.get(split.name);
    if (!change || change.key !== servedKey) {
      this.changedAt.set(split.name, { key: servedKey, at: Date.now(), observed: false });
    }
    let weights: Record<string, number> | null = null;
    let error: string | undefined;
    try {
      const res = await request(
        `${traefik}/api/http/services/${encodeURIComponent(`${split.name}@http`)}`,
        {
          headersTimeout: requestTimeoutMs,
          bodyTimeout: requestTimeoutMs,
        },
      );
      const text = await res.body.text();
      if (res.statusCode === 404) {
        error = `Traefik does not know ${split.name}@http`;
      } else if (res.statusCode !== 200) {
        error = `Traefik API answered ${res.statusCode}`;
      } else {
        const body = JSON.parse(text) as {
          weighted?: { services?: { name: string; weight?: number }[] };
        };
        weights = {};
        for (const child of body.weighted?.services ?? []) {
          // Traefik counts an omitted weight as 1.
          weights[stripProvider(child.name)] = child.weight ?? 1;
        }
      }
    } catch (err) {
      error = `Traefik API unreachable: ${(err as Error).message}`;
    }
    const applied = expected !== null && sameChildren(weights, expected);
    const since =
      previous && previous.applied === applied && previous.since !== null
        ? previous.since
        : new Date().toISOString();
    this.views.set(key, {
      traefik,
      applied,
      since,
      weights,
      ...(error !== undefined && { error }),
    });
    metrics.traefikApplied.set({ split: split.name, traefik }, applied ? 1 : 0);
    if (error && previous?.error !== error)
      log.warn({ split: split.name, traefik, error }, 'cannot confirm propagation');

    const current = this.changedAt.get(split.name);
    if (current && !current.observed && this.viewsOf(split.name).every((v) => v.applied)) {
      current.observed = true;
      metrics.propagationSeconds.observe((Date.now() - current.at) / 1000);
    }
  }
}
