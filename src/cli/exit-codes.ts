/**
 * canaryctl's exit codes: a contract for scripts (documented in `canaryctl --help` and
 * docs/api.md). Change none without changing both.
 */
export const ExitCode = {
  OK: 0,
  /** Anything unexpected: an answer the CLI cannot read, a bug. */
  FAILURE: 1,
  /** The command line is wrong; nothing was sent. */
  USAGE: 2,
  /** 401 or 403: the token is missing, wrong, or writes are disabled on the service. */
  AUTH: 3,
  /** Any other 4xx: validation, unknown split, If-Match mismatch (412), body too large, ... */
  REFUSED: 4,
  /** 5xx: Redis unavailable (503), Traefik did not apply in time (504), internal errors. */
  SERVER: 5,
  /** No HTTP answer at all: connection refused, DNS failure, timeout. */
  UNREACHABLE: 6,
  /**
   * 504 WRITE_NOT_REPLICATED: the write is on the Redis primary and served, but fewer replicas
   * than REDIS_WRITE_REPLICAS confirmed it in time.
   */
  NOT_REPLICATED: 7,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for an HTTP error status. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return ExitCode.AUTH;
  if (status >= 400 && status < 500) return ExitCode.REFUSED;
  if (status >= 500) return ExitCode.SERVER;
  return ExitCode.FAILURE;
}

/** One line per code, for --help and the docs. */
export const EXIT_CODE_HELP = `Exit codes:
  0  success
  1  unexpected failure (an answer the CLI cannot read)
  2  usage error: bad command line, nothing was sent
  3  authentication: 401/403, set CANARY_TOKEN to the service's ADMIN_TOKEN
  4  refused by the service: 400 validation, 404 unknown split, 409, 412 If-Match mismatch,
     413 body too large, 415
  5  server error: 5xx (503 Redis unavailable, 504 --wait timed out)
  6  service unreachable: connection refused, DNS failure or timeout (check CANARY_URL)
  7  written but not replicated: the write is on the Redis primary and served, but fewer
     replicas than REDIS_WRITE_REPLICAS confirmed it in time; check the status, retry to be sure`;
