import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import { UnauthorizedError } from '../errors';

/**
 * Compares a presented token with the expected one in constant time. Both are hashed first so the
 * comparison takes the same time whatever their lengths.
 */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(presented).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Requires `Authorization: Bearer <token>`. With no token configured every request is refused
 * with a message naming the variable to set (`unsetHint`).
 */
export function requireBearer(token: string | undefined, unsetHint: string): RequestHandler {
  return (req, _res, next) => {
    if (token === undefined) {
      next(new UnauthorizedError(unsetHint));
      return;
    }
    const presented = bearerOf(req.headers.authorization);
    if (presented === undefined) {
      next(new UnauthorizedError('missing `Authorization: Bearer <token>` header'));
      return;
    }
    if (!tokensEqual(presented, token)) {
      next(new UnauthorizedError('the bearer token is wrong'));
      return;
    }
    next();
  };
}
