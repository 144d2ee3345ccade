import { AppError } from './app-error';

/** Bad environment or splits file: the process must not start. */
export class ConfigError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', 500, message, options);
  }
}
