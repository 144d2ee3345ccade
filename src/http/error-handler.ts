import type { ErrorRequestHandler } from 'express';
import { ReplyError } from 'ioredis';
import {
  AppError,
  BusyError,
  CorruptDataError,
  PreconditionFailedError,
  RedisUnavailableError,
  ValidationError,
  WriteNotReplicatedError,
} from '../errors';
import type { Logger } from '../log/logger';

const TYPE_BASE = 'https://traefik-canary-provider.dev/problems/';

interface ExpressBodyError {
  type?: string;
  status?: number;
  expose?: boolean;
  message: string;
  code?: string;
}

/**
 * Errors raised by Express before a route runs: express.json() (body too large, not JSON, a gzip
 * or br body that does not decompress) and the router (a `:name` that is not valid
 * percent-encoded UTF-8).
 */
function fromExpress(err: ExpressBodyError): AppError | undefined {
  if (err instanceof URIError) {
    return new ValidationError(
      'the request path is not valid percent-encoded UTF-8 (e.g. %ZZ or a truncated sequence)',
    );
  }
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
    case 'request.aborted':
      return new ValidationError('the client closed the connection before the body was read');
    default:
      if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
        // e.g. a Content-Encoding: gzip body that is not gzip (zlib's Z_DATA_ERROR)
        const undecodable = err.code?.startsWith('Z_') || err.code?.startsWith('ERR_');
        return new ValidationError(
          undecodable
            ? `the request body does not decode as its Content-Encoding (${err.code})`
            : `the request body could not be read: ${err.message}`,
        );
      }
      return undefined;
  }
}

/**
 * Redis answered but a key holds the wrong type: the data is corrupt, Redis is fine; say so and how
 * to clear it rather than 503 or 500.
 */
function fromCorruptData(err: unknown): AppError | undefined {
  const cause: unknown = err instanceof RedisUnavailableError ? err.cause : undefined;
  if (err instanceof RedisUnavailableError && cause instanceof ReplyError) {
    const message = (cause as Error).message;
    if (message.startsWith('WRONGTYPE')) {
      return new CorruptDataError(
        `${err.message}: a key holds the wrong type (Redis: ${message}); find it with \`redis-cli TYPE <key>\` and delete it with \`redis-cli DEL <key>\``,
        { cause: err },
      );
    }
  }
  return undefined;
}

/**
 * The one place errors become HTTP answers: `application/problem+json` (RFC 9457) with a stable
 * `type` derived from the error's code.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const appError =
      fromCorruptData(err) ??
      (err instanceof AppError
        ? err
        : typeof err === 'object' && err !== null
          ? fromExpress(err as ExpressBodyError)
          : undefined);
    if (!appError) {
      log.error({ err, method: req.method, path: req.path }, 'unhandled error');
    } else if (appError instanceof BusyError) {
      // Counted in open_reads_total; a line per refusal would let a flood fill the log.
      log.debug({ method: req.method, path: req.path }, appError.message);
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
    if (appError instanceof WriteNotReplicatedError) {
      body.replicasWanted = appError.replicasWanted;
      if (appError.replicasConfirmed !== undefined)
        body.replicasConfirmed = appError.replicasConfirmed;
    }
    if (appError instanceof PreconditionFailedError) {
      res.setHeader('ETag', appError.currentEtag);
    }
    if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    if (appError instanceof BusyError)
      res.setHeader('Retry-After', String(appError.retryAfterSeconds));
    res.status(status).type('application/problem+json').send(JSON.stringify(body));
  };
}
