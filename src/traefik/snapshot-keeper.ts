import { createHash } from 'node:crypto';
import type { Logger } from '../log/logger';
import type { Weights } from '../store/types';
import { writeSnapshotFile } from './snapshot-file';

export interface SnapshotKeeperOptions {
  file: string;
  splitsHash: string;
  log: Logger;
  /** The body served now and each split's weights; undefined when none is fresh from Redis. */
  take: () => { body: Buffer; served: Record<string, Weights> } | undefined;
  /** How long after a change the file is written; changes meanwhile share the write. */
  delayMs?: number;
  now?: () => Date;
}

/**
 * Keeps SNAPSHOT_FILE on the body served: written a short while after the body changes (so a
 * burst of changes costs one write, and no poll costs any), never when it has not changed.
 */
export class SnapshotKeeper {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private lastWritten: string | undefined;
  private lastError: string | undefined;
  private readonly delayMs: number;
  /** Completed writes, for tests and logs. */
  writes = 0;

  constructor(private readonly options: SnapshotKeeperOptions) {
    this.delayMs = options.delayMs ?? 250;
  }

  /** The served body changed: write it soon. */
  changed(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => void this.flush(), this.delayMs);
    this.timer.unref();
  }

  /** Writes the body now if it differs from the one on disk; resolves when written. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(() => this.writeIfChanged());
    return this.writing;
  }

  /** Writes what is pending, then stops. */
  async close(): Promise<void> {
    if (this.timer !== undefined) await this.flush();
    await this.writing;
  }

  private async writeIfChanged(): Promise<void> {
    const { file, splitsHash, log } = this.options;
    const current = this.options.take();
    if (current === undefined) return;
    const digest = createHash('sha256').update(current.body).digest('hex');
    if (digest === this.lastWritten) return;
    const writtenAt = (this.options.now?.() ?? new Date()).toISOString();
    try {
      await writeSnapshotFile(file, { splitsHash, writtenAt, ...current });
      this.lastWritten = digest;
      this.writes++;
      if (this.lastError !== undefined)
        log.info({ file }, 'the last-good snapshot is written again');
      this.lastError = undefined;
      log.debug({ file, writtenAt }, 'wrote the last-good snapshot');
    } catch (err) {
      const message = (err as Error).message;
      // Once per distinct failure: a read-only volume must not fill the log.
      if (message !== this.lastError) {
        log.warn(
          { err, file },
          'could not write the last-good snapshot: set SNAPSHOT_FILE (or DATA_DIR) to a writable path, or SNAPSHOT_FILE=off',
        );
      }
      this.lastError = message;
    }
  }
}
