/** How an undici request failed before any answer arrived. */
export type TransportFailure = 'timeout' | 'unreachable';

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** Classifies an error thrown by undici's `request` (or by an AbortSignal.timeout it was given). */
export function transportFailure(err: unknown): TransportFailure {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const e = current as { name?: unknown; code?: unknown; cause?: unknown };
    if (e.name === 'TimeoutError') return 'timeout';
    if (typeof e.code === 'string' && TIMEOUT_CODES.has(e.code)) return 'timeout';
    current = e.cause;
  }
  return 'unreachable';
}

/** A short description of an undici error for logs: its code and message, never a URL's secret. */
export function describeFailure(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code =
    typeof e.code === 'string'
      ? e.code
      : typeof e.cause?.code === 'string'
        ? e.cause.code
        : undefined;
  const message = typeof e.message === 'string' ? e.message : 'unknown error';
  return code ? `${code}: ${message}` : message;
}
