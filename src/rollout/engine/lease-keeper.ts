import type { Logger } from '../../log/logger';
import type { Lease } from './lease';

export interface LeaseKeeperOptions {
  lease: Lease;
  ttlMs: number;
  log: Logger;
  /** Called when this replica starts or stops holding the lease. */
  onChange: (held: boolean) => void;
}

/**
 * Keeps the rollout lease: acquires it when free and renews it every third of its TTL, behind a
 * narrow `start()` / `close()`. Leadership ends locally as soon as a renewal cannot be confirmed in
 * time, before another replica can acquire.
 */
export class LeaseKeeper {
  private running = false;
  private held = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: LeaseKeeperOptions) {}

  get isLeader(): boolean {
    return this.held && this.options.lease.isHeld();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops renewing (the lease is kept until it expires or is released). */
  async close(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    this.set(false);
  }

  /** After a fenced write was refused: another replica holds the lease. */
  lost(): void {
    this.options.lease.drop();
    this.set(false);
  }

  private set(held: boolean): void {
    if (held === this.held) return;
    this.held = held;
    this.options.onChange(held);
  }

  private async run(): Promise<void> {
    const { lease, log, ttlMs } = this.options;
    while (this.running) {
      try {
        this.set(await lease.acquireOrRenew());
      } catch (err) {
        log.warn({ err }, 'could not renew the rollout lease');
        if (!lease.isHeld()) this.set(false);
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, Math.floor(ttlMs / 3));
        this.wake = done;
      });
    }
  }
}
