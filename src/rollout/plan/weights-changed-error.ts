import { AppError } from '../../errors';

/** Thrown when the weights changed since they were read: the transition was not applied. */
export class WeightsChangedError extends AppError {
  constructor(message: string) {
    super('PRECONDITION_FAILED', 412, message);
  }
}
