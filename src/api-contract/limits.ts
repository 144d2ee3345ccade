/** Split and backend names become Traefik service names (`<split>@http`, `<split>-<backend>`). */
export const NAME_PATTERN = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/** The largest weight a backend may have, in splits.yaml, in Redis and through the API. */
export const MAX_WEIGHT = 1_000_000;
