import type { ErrorRequestHandler } from 'express';
import { AppError, PreconditionFailedError, ValidationError } from '../errors';
import type { Logger } from '../log/logger';

const TYPE_BASE = 'https://traefik-canary-provider.dev/problems/';

interface ExpressBodyError {
  type?: string;
  status?: number;
  expose?: boolean;
  message: string;
}

/** Errors raised by express.json() before a route runs. */
function fromBodyParser(err: ExpressBodyError): AppError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new AppError(
        'BODY_TOO_LARGE',
        413,
        'the request body is larger than the 16 KiB limit',
      );
    case 'entity.parse.failed':
      return new ValidationError(`the request body is not valid JSON: ${err.message}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 415, err.message);
    default:
      return undefined;
  }
}

/**
 * The one place errors become HTTP answers: `application/problem+json` (RFC 9457) with a stable
 * `type` derived from the error's code.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const appError =
      err instanceof AppError
        ? err
        : typeof err === 'object' && err !== null && 'type' in err
          ? fromBodyParser(err as ExpressBodyError)
          : undefined;
    if (!appError) {
      log.error({ err, method: req.method, path: req.path }, 'unhandled error');
    } else if (appError.status >= 500) {
      log.warn({ err: appError, method: req.method, path: req.path }, appError.message);
    }
    const status = appError?.status ?? 500;
    const code = appError?.code ?? 'INTERNAL';
    const body: Record<string, unknown> = {
      type: `${TYPE_BASE}${code.toLowerCase().replace(/_/g, '-')}`,
      title: code,
      status,
      detail: appError?.message ?? 'internal error; see the service log',
      instance: req.originalUrl,
    };
    if (appError instanceof ValidationError && appError.problems.length > 0) {
      body.errors = appError.problems;
    }
    if (appError instanceof PreconditionFailedError) {
      res.setHeader('ETag', appError.currentEtag);
    }
    if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    res.status(status).type('application/problem+json').send(JSON.stringify(body));
  };
}
