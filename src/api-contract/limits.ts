import { durationPattern, WATCH_DURATION } from '../shared/duration';

/** Split and backend names become Traefik service names (`<split>@http`, `<split>-<backend>`). */
export const NAME_PATTERN = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/** The largest weight a backend may have, in splits.yaml, in Redis and through the API. */
export const MAX_WEIGHT = 1_000_000;

/**
 * `GET /traefik?watch=25s`: how long a poll may be held, in `ms`, `s` or `m`, as documented. The
 * route reads it with parseDuration in the same grammar (a poll must cost no schema parse).
 */
export const WATCH_PATTERN = durationPattern(WATCH_DURATION);
