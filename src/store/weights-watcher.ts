import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger';

const CHANNEL = '__redis__:invalidate';

export interface WeightsWatcherOptions {
  /** The connection that is tracked (its reads need not go through the watcher). */
  tracked: Redis;
  /** A second connection, used only to receive invalidation messages. */
  subscriber: Redis;
  keyPrefix: string;
  log: Logger;
  /** `keys` are the weights keys that changed; undefined means anything may have changed. */
  onChange: (keys?: string[]) => void;
}

/**
 * Tells the service when any weights key changes, whoever wrote it (redis-cli included), without
 * keyspace notifications (they need CONFIG SET, often refused on managed Redis).
 * It uses client-side-caching invalidations in broadcast mode: `CLIENT TRACKING ON BCAST PREFIX`,
 * redirected to a subscriber connection. Tracking is per connection, so it is set up again after
 * either connection reconnects.
 */
export class WeightsWatcher {
  private active = false;
  private setupRun = 0;
  supported: boolean | undefined;

  constructor(private readonly options: WeightsWatcherOptions) {}

  start(): void {
    this.active = true;
    const { tracked, subscriber, log, onChange } = this.options;
    // messageBuffer carries the invalidation as sent: an array of keys, or null after a FLUSHALL.
    subscriber.on('messageBuffer', (channel: Buffer, message: unknown) => {
      if (channel.toString() !== CHANNEL) return;
      if (Array.isArray(message)) onChange(message.map((k: Buffer | string) => k.toString()));
      else onChange();
    });
    const setup = (): void => {
      void this.setup().catch((err: unknown) =>
        log.warn({ err }, 'could not set up Redis change tracking; relying on periodic re-reads'),
      );
    };
    tracked.on('ready', setup);
    subscriber.on('ready', setup);
    if (tracked.status === 'ready' && subscriber.status === 'ready') setup();
  }

  stop(): void {
    this.active = false;
  }

  private async setup(): Promise<void> {
    const { tracked, subscriber, keyPrefix, log, onChange } = this.options;
    if (!this.active || tracked.status !== 'ready' || subscriber.status !== 'ready') return;
    const run = ++this.setupRun;
    if (subscriber.mode !== 'subscriber') {
      const id = (await subscriber.client('ID')) as number;
      await subscriber.subscribe(CHANNEL);
      this.subscriberId = id;
    }
    if (run !== this.setupRun || this.subscriberId === undefined) return;
    try {
      await tracked.call('CLIENT', 'TRACKING', 'OFF');
      await tracked.call(
        'CLIENT',
        'TRACKING',
        'ON',
        'REDIRECT',
        String(this.subscriberId),
        'BCAST',
        'PREFIX',
        `${keyPrefix}weights:`,
      );
      this.supported = true;
      log.debug({ redirect: this.subscriberId }, 'tracking weights keys');
    } catch (err) {
      this.supported = false;
      throw err;
    }
    // Anything written while tracking was off is picked up by one read now.
    onChange();
  }

  private subscriberId: number | undefined;
}
