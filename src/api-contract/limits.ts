/** Split and backend names become Traefik service names (`<split>@http`, `<split>-<backend>`). */
export const NAME_PATTERN = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/** The largest weight a backend may have, in splits.yaml, in Redis and through the API. */
export const MAX_WEIGHT = 1_000_000;

/**
 * `GET /traefik?watch=25s`: how long a poll may be held, in `ms`, `s` or `m`. The route reads it by
 * hand (a poll must cost no schema parse), with this pattern.
 */
export const WATCH_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m)$/;
