import { z } from 'zod';
import { ConfigError } from '../errors';
import { formatIssues } from './splits';

const optionalToken = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v))
  .refine((v) => v === undefined || v.length >= 16, 'must be at least 16 characters');

const intFrom = (def: number, min: number, max: number) =>
  z.coerce.number().int('must be an integer').min(min).max(max).default(def);

const urlList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim().replace(/\/+$/, ''))
      .filter((s) => s !== ''),
  )
  .pipe(z.array(z.url({ protocol: /^https?$/, error: 'each entry must be an http(s) URL' })));

/** The environment, parsed once at start. Defaults live here and nowhere else. */
export const envSchema = z.object({
  PORT: intFrom(9500, 0, 65535),
  HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })
    .default('redis://127.0.0.1:6379'),
  KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]*$/, 'may hold letters, digits and : _ . - only')
    .default('canary:'),
  SPLITS_FILE: z.string().min(1).default('./splits.yaml'),
  PROVIDER_TOKEN: optionalToken,
  ADMIN_TOKEN: optionalToken,
  METRICS_PREFIX: z
    .string()
    .regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/, 'must be a valid Prometheus metric name prefix')
    .default('swarm_'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Full re-read of every split, on top of Redis change notifications. */
  RESYNC_INTERVAL_MS: intFrom(1000, 50, 60_000),
  /** How many splits each periodic re-read covers (round robin). */
  RESYNC_BATCH: intFrom(1000, 1, 1_000_000),
  TRAEFIK_API_URLS: urlList,
  TRAEFIK_POLL_INTERVAL_MS: intFrom(1000, 100, 60_000),
  PROMETHEUS_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .optional()
    .or(z.literal('').transform(() => undefined)),
  AUDIT_STREAM_MAXLEN: intFrom(10_000, 10, 10_000_000),
  /** A client must send its request headers within this time (Node's default is 60 s). */
  HTTP_HEADERS_TIMEOUT_MS: intFrom(10_000, 1000, 120_000),
  /** ... and its whole request, body included, within this time (Node's default is 300 s). */
  HTTP_REQUEST_TIMEOUT_MS: intFrom(30_000, 1000, 600_000),
  /** Open connections at most; more are refused at once (Node has no cap). */
  HTTP_MAX_CONNECTIONS: intFrom(1024, 1, 1_000_000),
});

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; a bad value throws a ConfigError naming each variable. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    throw new ConfigError(`invalid environment:\n${formatIssues(result.error.issues)}`);
  }
  const env = result.data;
  if (env.ADMIN_TOKEN !== undefined && env.ADMIN_TOKEN === env.PROVIDER_TOKEN) {
    throw new ConfigError(
      'invalid environment:\n  ADMIN_TOKEN: must differ from PROVIDER_TOKEN: every Traefik holds the provider token, and it must not also allow writes',
    );
  }
  if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(
      'invalid environment:\n  HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS',
    );
  }
  return env;
}
