export { AppError } from './app-error';
export { ConfigError } from './config-error';
export { ValidationError, type FieldProblem } from './validation-error';
export { NotFoundError } from './not-found-error';
export { UnauthorizedError } from './unauthorized-error';
export { PreconditionFailedError } from './precondition-failed-error';
export { RedisUnavailableError } from './redis-unavailable-error';
export { CorruptDataError } from './corrupt-data-error';
export { BusyError } from './busy-error';
