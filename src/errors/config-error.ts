import { StartupError } from './startup-error';

/** Bad environment or splits file: the process must not start. */
export class ConfigError extends StartupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', message, options);
  }
}
