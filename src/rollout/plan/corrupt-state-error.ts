import { AppError } from '../../errors';

/**
 * The stored state is not a rollout state (hand-edited, or from another version). Redis is fine,
 * so this is neither 503 nor 500: 409, with a message naming the key and how to clear it.
 */
export class CorruptStateError extends AppError {
  constructor(message: string) {
    super('ROLLOUT_STATE_INVALID', 409, message);
  }
}
