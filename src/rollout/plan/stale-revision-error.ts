import { AppError } from '../../errors';

/**
 * The stored rollout revision is not the one the writer read: someone else changed the rollout
 * meanwhile, and nothing was written. Writers retry on a fresh read; when a request still loses
 * after its retries, the client gets 409 like any command that does not fit the rollout's state.
 */
export class StaleRevisionError extends AppError {
  constructor(readonly current: number) {
    super('STALE_REVISION', 409, `the rollout state changed (now at revision ${current})`);
  }
}
