/**
 * Base of every error the service raises on purpose. `code` is stable (clients and tests match on
 * it); `status` is the HTTP status the single error handler answers with.
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }
}
