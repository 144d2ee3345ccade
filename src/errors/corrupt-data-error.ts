import { AppError } from './app-error';

/**
 * Redis answered, but a key of the service holds data it cannot use (wrong type, not JSON). Redis
 * itself is fine, so this is not REDIS_UNAVAILABLE; the message says which key and how to clear it.
 */
export class CorruptDataError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CORRUPT_DATA', 409, message, options);
  }
}
