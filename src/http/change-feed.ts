/** What changed, as pushed to GET /api/v1/events. */
export type ChangeEvent =
  | {
      type: 'weights';
      split: string;
      /** The weights served now, where they come from and whether the stored ones are valid. */
      served: Record<string, number>;
      source: string;
      valid: boolean;
      problems: string[];
    }
  | { type: 'audit'; split: string }
  | { type: 'rollout'; split: string; rollout: unknown };

export type ChangeListener = (event: ChangeEvent) => void;

export interface ChangeFeedOptions {
  /**
   * Splits whose rollout status to watch, and how to read it (`{rollout}` or `{}`). Read only while
   * someone listens: a rollout changes in Redis, written by whichever replica holds the lease.
   */
  rollouts?: { splits: readonly string[]; describe: (split: string) => Promise<unknown> };
  /** How often the rollouts are read while someone listens (default 500 ms). */
  rolloutPollMs?: number;
}

/** Rollout fields that move every millisecond: a change in them alone is not news. */
const CLOCK_FIELDS = new Set(['elapsedMs', 'remainingMs', 'elapsed', 'remaining']);
const withoutClock = (value: unknown): string =>
  JSON.stringify(value, (k, v: unknown) => (CLOCK_FIELDS.has(k) ? undefined : v));

/**
 * The service's change events, fanned out to listeners (the SSE route). Publishers call publish()
 * where the service learns of a change; nothing here writes anywhere. A listener that throws is
 * dropped rather than breaking the others.
 */
export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();
  private readonly lastRollout = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly options: ChangeFeedOptions = {}) {}

  get listenerCount(): number {
    return this.listeners.size;
  }

  publish(event: ChangeEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        this.listeners.delete(listener);
      }
    }
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.startRolloutWatch();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopRolloutWatch();
    };
  }

  close(): void {
    this.listeners.clear();
    this.stopRolloutWatch();
  }

  private startRolloutWatch(): void {
    const watched = this.options.rollouts;
    if (!watched || watched.splits.length === 0 || this.timer) return;
    const tick = async (): Promise<void> => {
      if (this.polling) return;
      this.polling = true;
      try {
        for (const split of watched.splits) {
          let rollout: unknown;
          try {
            rollout = ((await watched.describe(split)) as { rollout?: unknown }).rollout ?? null;
          } catch {
            continue; // Redis away: the weights events say so through `stale`; try again later.
          }
          const key = withoutClock(rollout);
          const before = this.lastRollout.get(split);
          this.lastRollout.set(split, key);
          if (before !== undefined && before !== key) {
            this.publish({ type: 'rollout', split, rollout });
          }
        }
      } finally {
        this.polling = false;
      }
    };
    void tick();
    this.timer = setInterval(() => void tick(), this.options.rolloutPollMs ?? 500);
    this.timer.unref();
  }

  private stopRolloutWatch(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.lastRollout.clear();
  }
}
