import { AppError } from './app-error';

/** Redis did not answer: nothing was written and nothing may be claimed. */
export class RedisUnavailableError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('REDIS_UNAVAILABLE', 503, message, options);
  }
}
