import { AppError } from '../../errors';

/**
 * The rollout is not in a state that allows the request (start while one runs, resume a rollout
 * that is not paused, ...), or it changed while the request was being applied.
 */
export class RolloutConflictError extends AppError {
  constructor(message: string) {
    super('ROLLOUT_CONFLICT', 409, message);
  }
}
