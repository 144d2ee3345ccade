import { AppError } from './app-error';

/** If-Match named a version of the split that is no longer current. */
export class PreconditionFailedError extends AppError {
  readonly currentEtag: string;

  constructor(message: string, currentEtag: string) {
    super('PRECONDITION_FAILED', 412, message);
    this.currentEtag = currentEtag;
  }
}
