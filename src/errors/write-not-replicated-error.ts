import { AppError } from './app-error';

/**
 * The write reached the Redis primary (it is served, and stays there while that primary lives),
 * but fewer replicas than REDIS_WRITE_REPLICAS confirmed it in time: a failover now could lose it.
 * Not REDIS_UNAVAILABLE, where nothing was written. `written` is what the write produced, for a
 * caller that must finish its own bookkeeping before passing the error on.
 */
export class WriteNotReplicatedError extends AppError {
  readonly replicasWanted: number;
  readonly replicasConfirmed: number | undefined;
  readonly written: unknown;

  constructor(
    message: string,
    details: { wanted: number; confirmed?: number; written?: unknown; cause?: unknown },
  ) {
    super('WRITE_NOT_REPLICATED', 504, message, { cause: details.cause });
    this.replicasWanted = details.wanted;
    this.replicasConfirmed = details.confirmed;
    this.written = details.written;
  }

  /** The same error carrying what the write produced. */
  withWritten(written: unknown): WriteNotReplicatedError {
    return new WriteNotReplicatedError(this.message, {
      wanted: this.replicasWanted,
      confirmed: this.replicasConfirmed,
      written,
      cause: this.cause,
    });
  }
}
