/**
 * Base of the errors that stop the process before it serves anything (a bad environment, a bad
 * splits file, a missing operator page). They never reach a client, so they carry no HTTP status;
 * `main` prints the message and exits with status 2.
 */
export class StartupError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
