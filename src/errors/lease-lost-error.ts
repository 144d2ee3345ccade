import { AppError } from './app-error';

/**
 * A fenced write was refused: its fence token no longer holds the lease key, so another holder
 * may be writing. Nothing was written. 409: the writer's view of who may write is out of date.
 */
export class LeaseLostError extends AppError {
  constructor(message: string) {
    super('LEASE_LOST', 409, message);
  }
}
