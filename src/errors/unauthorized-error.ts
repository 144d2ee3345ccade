import { AppError } from './app-error';

export class UnauthorizedError extends AppError {
  constructor(message: string) {
    super('UNAUTHORIZED', 401, message);
  }
}
