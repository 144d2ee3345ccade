import { AppError } from './app-error';

/**
 * The service refused a request to protect the work that must not wait (Traefik's polls, writes,
 * the rollout lease); the client should try again after `retryAfterSeconds`.
 */
export class BusyError extends AppError {
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds = 1) {
    super('OPEN_READS_BUSY', 503, message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
