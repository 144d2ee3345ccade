import { ExitCode } from './exit-codes';

/**
 * A failure canaryctl reports to the user: `message` (and `details`, one per line) go to stderr,
 * `exitCode` becomes the process's exit status.
 */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly details: string[];
  /** The HTTP status the service answered, when it did. */
  readonly status: number | undefined;

  constructor(
    message: string,
    exitCode: ExitCode,
    options: { details?: string[]; cause?: unknown; status?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.details = options.details ?? [];
    this.status = options.status;
  }
}

/** The command line is wrong. Nothing was sent to the service. */
export class UsageError extends CliError {
  /** The command whose help to point at, if known. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message, ExitCode.USAGE, {
      details: [`see: canaryctl help${command === undefined ? '' : ` ${command}`}`],
    });
    this.command = command;
  }
}
