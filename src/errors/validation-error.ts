import { AppError } from './app-error';

export interface FieldProblem {
  path: string;
  message: string;
}

/** A request body or parameter that fails its schema. */
export class ValidationError extends AppError {
  readonly problems: FieldProblem[];

  constructor(message: string, problems: FieldProblem[] = []) {
    super('VALIDATION_FAILED', 400, message);
    this.problems = problems;
  }
}
