import fs from 'node:fs';
import path from 'node:path';
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

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const blankIsUnset = (v: unknown) => (v === '' ? undefined : v);

/** `true`/`false` (or `1`/`0`, `yes`/`no`); unset or blank stays undefined. */
const optionalFlag = z.preprocess(
  (v) => (typeof v === 'string' ? v.trim().toLowerCase() : v),
  z
    .enum(['', 'true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
    .optional()
    .transform((v) =>
      v === undefined || v === '' ? undefined : v === 'true' || v === '1' || v === 'yes',
    ),
);

const optionalPath = z.preprocess(blankIsUnset, z.string().optional());

/** `host:port,host:port`; a host may be a bracketed IPv6 address. */
const hostPortList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const out: { host: string; port: number }[] = [];
    for (const entry of (v ?? '').split(',').map((s) => s.trim())) {
      if (entry === '') continue;
      const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(entry);
      const port = m ? Number(m[2]) : 0;
      if (!m || port < 1 || port > 65535) {
        ctx.addIssue({
          code: 'custom',
          message: `"${entry}" is not host:port (e.g. sentinel-1:26379); list them comma-separated`,
        });
        return z.NEVER;
      }
      out.push({ host: m[1].replace(/^\[|\]$/g, ''), port });
    }
    return out;
  });

/** The environment, parsed once at start. Defaults live here and nowhere else. */
const envObject = z.object({
  PORT: intFrom(9500, 0, 65535),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** The single-server form; the default when no Sentinel is configured. */
  REDIS_URL: z.preprocess(
    blankIsUnset,
    z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  ),
  /** Sentinel mode: the Sentinels to ask for the current primary of REDIS_SENTINEL_NAME. */
  REDIS_SENTINELS: hostPortList,
  REDIS_SENTINEL_NAME: z.preprocess(
    blankIsUnset,
    z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'may hold letters, digits and . _ - only')
      .optional(),
  ),
  REDIS_SENTINEL_PASSWORD: z.preprocess(blankIsUnset, z.string().optional()),
  /** Password of the data nodes (in Sentinel mode, or to keep it out of REDIS_URL). */
  REDIS_PASSWORD: z.preprocess(blankIsUnset, z.string().optional()),
  /** TLS to the data nodes (a rediss:// REDIS_URL implies it). */
  REDIS_TLS: optionalFlag,
  /** PEM files: the CA that signed the servers' certificates; a client certificate and its key. */
  REDIS_TLS_CA_FILE: optionalPath,
  REDIS_TLS_CERT_FILE: optionalPath,
  REDIS_TLS_KEY_FILE: optionalPath,
  /** TLS to the Sentinels themselves (default: as REDIS_TLS), with the same files. */
  REDIS_SENTINEL_TLS: optionalFlag,
  /**
   * Replicas that must confirm a write (Redis WAIT) before it is acknowledged; 0 acknowledges once
   * the primary has it.
   */
  REDIS_WRITE_REPLICAS: intFrom(0, 0, 100),
  /** How long a write waits for those replicas before it answers WRITE_NOT_REPLICATED. */
  REDIS_WRITE_TIMEOUT_MS: intFrom(1000, 10, 60_000),
  /** Where the service keeps files of its own (the last-good snapshot). */
  DATA_DIR: z.string().min(1).default('./data'),
  /** The last-good snapshot; default DATA_DIR/snapshot.json, `off` keeps none. */
  SNAPSHOT_FILE: z.preprocess(blankIsUnset, z.string().optional()),
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
  /** How often a periodic re-read of RESYNC_BATCH splits runs, on top of Redis change notifications. */
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
  /** API reads without the admin token served at once; more wait in a queue. */
  OPEN_READ_CONCURRENCY: intFrom(2, 1, 1000),
  /** API reads that may wait for a free slot; more are refused at once with 503 and Retry-After. */
  OPEN_READ_QUEUE: intFrom(8, 0, 100_000),
});

export const envSchema = envObject
  .superRefine((env, ctx) => {
    const sentinel = env.REDIS_SENTINELS.length > 0;
    if (sentinel && env.REDIS_URL !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_URL'],
        message:
          'cannot be set together with REDIS_SENTINELS: unset REDIS_URL to use Sentinel, or unset REDIS_SENTINELS and REDIS_SENTINEL_NAME to use one server',
      });
    }
    if (sentinel && env.REDIS_SENTINEL_NAME === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_SENTINEL_NAME'],
        message:
          'is required with REDIS_SENTINELS: set it to the name the Sentinels monitor (sentinel monitor <name> …)',
      });
    }
    if (!sentinel && env.REDIS_SENTINEL_NAME !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_SENTINELS'],
        message:
          'is required with REDIS_SENTINEL_NAME: list the Sentinels as host:port,host:port, or unset REDIS_SENTINEL_NAME',
      });
    }
    const urlTls = env.REDIS_URL?.startsWith('rediss://') === true;
    if (urlTls && env.REDIS_TLS === false) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_TLS'],
        message:
          'is false but REDIS_URL is rediss:// (always TLS): unset REDIS_TLS or use redis://',
      });
    }
    const tls = urlTls || env.REDIS_TLS === true || env.REDIS_SENTINEL_TLS === true;
    for (const name of [
      'REDIS_TLS_CA_FILE',
      'REDIS_TLS_CERT_FILE',
      'REDIS_TLS_KEY_FILE',
    ] as const) {
      if (env[name] !== undefined && !tls) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message:
            'only applies with TLS: set REDIS_TLS=true (or use a rediss:// REDIS_URL), or unset it',
        });
      }
    }
    if ((env.REDIS_TLS_CERT_FILE === undefined) !== (env.REDIS_TLS_KEY_FILE === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [
          env.REDIS_TLS_CERT_FILE === undefined ? 'REDIS_TLS_CERT_FILE' : 'REDIS_TLS_KEY_FILE',
        ],
        message:
          'a client certificate needs its key: set both REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE, or neither',
      });
    }
    if (!sentinel && env.REDIS_SENTINEL_TLS !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_SENTINEL_TLS'],
        message: 'only applies with REDIS_SENTINELS and REDIS_SENTINEL_NAME: set those or unset it',
      });
    }
    if (!sentinel && env.REDIS_SENTINEL_PASSWORD !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_SENTINEL_PASSWORD'],
        message: 'only applies with REDIS_SENTINELS and REDIS_SENTINEL_NAME: set those or unset it',
      });
    }
  })
  .transform((env) => ({
    ...env,
    REDIS_URL: env.REDIS_URL ?? (env.REDIS_SENTINELS.length > 0 ? undefined : DEFAULT_REDIS_URL),
    SNAPSHOT_FILE:
      env.SNAPSHOT_FILE === 'off'
        ? undefined
        : (env.SNAPSHOT_FILE ?? path.join(env.DATA_DIR, 'snapshot.json')),
  }));

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
  for (const name of ['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'] as const) {
    const file = env[name];
    if (file === undefined) continue;
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (err) {
      throw new ConfigError(
        `invalid environment:\n  ${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}): give the path of a PEM file the service can read`,
      );
    }
  }
  if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(
      'invalid environment:\n  HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS',
    );
  }
  return env;
}
