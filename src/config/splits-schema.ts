import { z } from 'zod';
import { parseDuration } from '../shared/duration';
import { MAX_WEIGHT, NAME_PATTERN } from '../api-contract/limits';
import { rolloutPlanSchema } from './rollout-plan-schema';
import { allZero, weightSchema } from '../api-contract/weight-rules';

// The API's contract and splits.yaml name and weigh backends alike.
export { MAX_WEIGHT, NAME_PATTERN };

/** The Traefik router an override of a split emits. */
export const overrideRouterName = (split: string, index: number): string =>
  `${split}-override-${index}`;

/** The Traefik retry middleware a split's router uses when `router.retry` is set. */
export const retryMiddlewareName = (split: string): string => `${split}-retry`;

const nameSchema = z
  .string()
  .max(63)
  .regex(
    NAME_PATTERN,
    'must start with a lowercase letter and hold lowercase letters, digits and inner dashes',
  );

/**
 * A duration as Traefik reads it (Go's `time.ParseDuration` units: ms, s, m, h), above 0 and at
 * most `maxMs`. Passed through to Traefik as written.
 */
function traefikDuration(maxMs: number) {
  return z.string().refine(
    (text) => {
      const ms = parseDuration(text, { units: ['ms', 's', 'm', 'h'] });
      return ms !== undefined && ms > 0 && ms <= maxMs;
    },
    {
      message: `must be a duration like "500ms", "2s" or "1m", above 0 and at most ${maxMs / 1000}s`,
    },
  );
}

const HOUR_MS = 3_600_000;

/** Header names as HTTP defines them (RFC 9110 tokens). */
const headerNameSchema = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'must be an HTTP header name (letters, digits, -)');

/** Text that goes inside a backquoted Traefik rule or a header value: printable, no backquote. */
const ruleTextSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(256)
  .regex(/^[\x20-\x5f\x61-\x7e]+$/, 'must be printable ASCII without a backquote (`)');

/** Traefik's ServerHealthCheck (active checks of each server), passed through under its names. */
const serverHealthCheckSchema = z
  .object({
    path: z
      .string()
      .regex(/^\/[\x21-\x7e]*$/, 'must be an absolute path such as /health')
      .optional(),
    interval: traefikDuration(HOUR_MS).optional(),
    unhealthyInterval: traefikDuration(HOUR_MS).optional(),
    timeout: traefikDuration(HOUR_MS).optional(),
    scheme: z.enum(['http', 'https']).optional(),
    mode: z.enum(['http', 'grpc']).optional(),
    method: z.enum(['GET', 'HEAD', 'POST', 'OPTIONS']).optional(),
    status: z.number().int().min(100).max(599).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    hostname: z.string().min(1).max(253).optional(),
    followRedirects: z.boolean().optional(),
    headers: z.record(headerNameSchema, ruleTextSchema).optional(),
  })
  .strict();

/** Traefik's PassiveServerHealthCheck: a server failing real requests is taken out for a while. */
const passiveHealthCheckSchema = z
  .object({
    maxFailedAttempts: z.number().int().min(1).max(1000).optional(),
    failureWindow: traefikDuration(HOUR_MS).optional(),
  })
  .strict();

const backendSchema = z
  .object({
    service: z
      .string()
      .regex(
        /^[A-Za-z0-9._-]+@[A-Za-z0-9_-]+$/,
        'must be <service>@<provider>, e.g. council-main@docker',
      )
      .optional(),
    servers: z
      .array(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }))
      .min(1, 'needs at least one server URL')
      .optional(),
    version: z.string().min(1).max(128).optional(),
    /**
     * For `servers`: Traefik's active health check. For `service`: `{}` only, saying that the
     * referenced service has its own health check (where it is defined) and takes part in the
     * split's health propagation.
     */
    healthCheck: serverHealthCheckSchema.optional(),
    passiveHealthCheck: passiveHealthCheckSchema.optional(),
  })
  .strict()
  .refine((b) => (b.service === undefined) !== (b.servers === undefined), {
    message: 'set exactly one of `service` (a service another provider defines) or `servers`',
  })
  .superRefine((b, ctx) => {
    if (b.servers && b.healthCheck && b.healthCheck.path === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['healthCheck', 'path'],
        message: 'is required for servers we define (the path Traefik checks, e.g. /health)',
      });
    }
    if (b.service && b.healthCheck && Object.keys(b.healthCheck).length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['healthCheck'],
        message:
          'must be {} for a service another provider defines: its check lives where it is defined (e.g. its Docker labels)',
      });
    }
    if (b.service && b.passiveHealthCheck) {
      ctx.addIssue({
        code: 'custom',
        path: ['passiveHealthCheck'],
        message:
          'applies only to servers we define; set it where the referenced service is defined',
      });
    }
  });

/** Sends matching requests to one backend whatever its weight (testing a canary at 0 %). */
const overrideSchema = z
  .object({
    header: headerNameSchema.optional(),
    cookie: z
      .string()
      .regex(/^[!#$%&'*+.^_|~0-9A-Za-z-]{1,128}$/, 'must be a cookie name (letters, digits, -)')
      .optional(),
    value: ruleTextSchema,
    backend: nameSchema,
  })
  .strict()
  .refine((o) => (o.header === undefined) !== (o.cookie === undefined), {
    message: 'set exactly one of `header` or `cookie`',
  })
  .superRefine((o, ctx) => {
    if (o.cookie !== undefined && /[\s",;\\]/.test(o.value)) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: 'must be a cookie value: no spaces, quotes, commas, semicolons or backslashes',
      });
    }
  });

/** Traefik's retry middleware: retries a request that failed before the backend answered. */
const retrySchema = z
  .object({
    attempts: z.number().int().min(1).max(10),
    initialInterval: traefikDuration(60_000).optional(),
  })
  .strict();

const routerSchema = z
  .object({
    rule: z.string().min(1, 'must not be empty'),
    entryPoints: z.array(z.string().min(1)).min(1).optional(),
    middlewares: z.array(z.string().min(1)).optional(),
    priority: z.number().int().min(0).optional(),
    tls: z
      .union([z.literal(true), z.object({ certResolver: z.string().min(1).optional() }).strict()])
      .optional(),
    retry: retrySchema.optional(),
    overrides: z.array(overrideSchema).max(16).optional(),
  })
  .strict();

const stickySchema = z
  .object({
    cookie: z
      .object({
        name: z.string().min(1).optional(),
        httpOnly: z.boolean().optional(),
        secure: z.boolean().optional(),
        sameSite: z.enum(['none', 'lax', 'strict']).optional(),
        maxAge: z.number().int().optional(),
        path: z.string().min(1).optional(),
      })
      .strict(),
  })
  .strict();

const splitSchema = z
  .object({
    stable: nameSchema,
    canary: nameSchema,
    backends: z.record(nameSchema, backendSchema),
    defaultWeights: z.record(nameSchema, weightSchema).optional(),
    router: routerSchema.optional(),
    sticky: stickySchema.optional(),
    rollout: rolloutPlanSchema.optional(),
  })
  .strict()
  .superRefine((split, ctx) => {
    const names = Object.keys(split.backends);
    if (names.length < 2) {
      ctx.addIssue({ code: 'custom', path: ['backends'], message: 'needs at least two backends' });
    }
    for (const role of ['stable', 'canary'] as const) {
      if (!(split[role] in split.backends)) {
        ctx.addIssue({
          code: 'custom',
          path: [role],
          message: `names backend "${split[role]}", which is not under backends (${names.join(', ')})`,
        });
      }
    }
    split.router?.overrides?.forEach((o, i) => {
      if (!(o.backend in split.backends)) {
        ctx.addIssue({
          code: 'custom',
          path: ['router', 'overrides', i, 'backend'],
          message: `names backend "${o.backend}", which is not under backends (${names.join(', ')})`,
        });
      }
    });
    // Traefik's weighted service with a health check needs every child to report its health; a
    // child that cannot makes Traefik refuse the whole split.
    const checked = names.filter((n) => split.backends[n].healthCheck !== undefined);
    if (checked.length > 0) {
      for (const name of names.filter((n) => split.backends[n].healthCheck === undefined)) {
        const b = split.backends[name];
        ctx.addIssue({
          code: 'custom',
          path: ['backends', name, 'healthCheck'],
          message: `is required because backend "${checked[0]}" has one (Traefik then needs every child of the split to report its health): ${
            b.service
              ? 'give the referenced service a health check where it is defined, then set healthCheck: {}'
              : 'set healthCheck: { path: ... }'
          }`,
        });
      }
    }
    if (split.stable === split.canary) {
      ctx.addIssue({ code: 'custom', path: ['canary'], message: 'must differ from stable' });
    }
    if (split.defaultWeights) {
      for (const name of Object.keys(split.defaultWeights)) {
        if (!(name in split.backends)) {
          ctx.addIssue({
            code: 'custom',
            path: ['defaultWeights', name],
            message: `is not a backend of this split (${names.join(', ')})`,
          });
        }
      }
      if (allZero(split.defaultWeights)) {
        ctx.addIssue({
          code: 'custom',
          path: ['defaultWeights'],
          message: 'must give at least one backend a weight above 0',
        });
      }
    }
  });

export const splitsFileSchema = z
  .object({
    splits: z
      .record(nameSchema, splitSchema)
      .refine((s) => Object.keys(s).length > 0, 'must declare at least one split'),
  })
  .strict()
  .superRefine((file, ctx) => {
    // Every emitted Traefik service name must be unique across the document.
    const owners = new Map<string, string>();
    const claim = (service: string, owner: string, path: (string | number)[]): void => {
      const previous = owners.get(service);
      if (previous !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `emits Traefik service "${service}", which ${previous} also emits; rename one`,
        });
        return;
      }
      owners.set(service, owner);
    };
    for (const split of Object.keys(file.splits)) {
      claim(split, `split "${split}"`, ['splits', split]);
    }
    // Routers live in their own namespace: a split's router and its override routers.
    const routers = new Map<string, string>();
    for (const [split, def] of Object.entries(file.splits)) {
      if (def.router) routers.set(split, `split "${split}"`);
    }
    for (const [split, def] of Object.entries(file.splits)) {
      def.router?.overrides?.forEach((_, i) => {
        const name = overrideRouterName(split, i);
        const previous = routers.get(name);
        if (previous !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['splits', split, 'router', 'overrides', i],
            message: `emits Traefik router "${name}", which ${previous} also emits; rename one`,
          });
        }
        routers.set(name, `split "${split}"`);
      });
    }
    for (const [split, def] of Object.entries(file.splits)) {
      for (const [backend, b] of Object.entries(def.backends)) {
        if (b.servers) {
          claim(`${split}-${backend}`, `backend "${split}.${backend}"`, [
            'splits',
            split,
            'backends',
            backend,
          ]);
        }
      }
    }
  });

export type SplitsFileDocument = z.infer<typeof splitsFileSchema>;
export type SplitDocument = SplitsFileDocument['splits'][string];
export type RolloutPlan = z.infer<typeof rolloutPlanSchema>;
