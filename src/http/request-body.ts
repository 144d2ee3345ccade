import express, { type NextFunction, type Request, type Response } from 'express';
import type { z } from 'zod';
import { AppError, ValidationError } from '../errors';
import type { ChangeSource } from '../store/types';

/** Parses a JSON body (16 KiB at most; larger answers 413). */
export const jsonBody = express.json({ limit: '16kb', strict: true, type: 'application/json' });

/**
 * Validates a request body (or its query) against a schema; a failure lists every
 * {path, message}, and its detail says the same.
 */
export function parseBody<T>(
  schema: z.ZodType<T>,
  input: unknown,
  what: 'body' | 'query' = 'body',
): T {
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => ({
      path: i.path.join('.') || `(${what})`,
      message: i.message,
    }));
    throw new ValidationError(
      `the request ${what} is invalid:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
      problems,
    );
  }
  return result.data;
}

/** Writes take JSON only; an empty body is allowed where every field is optional. */
export function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined ||
    Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    next(
      new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        415,
        'send the body as Content-Type: application/json',
      ),
    );
    return;
  }
  next();
}

/** Who asks: `X-Actor` (else the source), and `X-Change-Source: cli` when canaryctl sends it. */
export function originOf(req: Request): {
  source: Extract<ChangeSource, 'api' | 'cli'>;
  actor: string;
} {
  const source = req.get('X-Change-Source') === 'cli' ? 'cli' : 'api';
  const actor = (req.get('X-Actor') ?? '').slice(0, 100) || source;
  return { source, actor };
}
