import { z } from 'zod';
import { rolloutPlanSchema } from '../rollout/plan-schema';

/** Split and backend names become Traefik service names (`<split>@http`, `<split>-<backend>`). */
export const NAME_PATTERN = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
export const MAX_WEIGHT = 1_000_000;

const nameSchema = z
  .string()
  .max(63)
  .regex(
    NAME_PATTERN,
    'must start with a lowercase letter and hold lowercase letters, digits and inner dashes',
  );

export const weightSchema = z
  .number()
  .int('must be an integer')
  .min(0, 'must be >= 0')
  .max(MAX_WEIGHT, `must be <= ${MAX_WEIGHT}`);

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
  })
  .strict()
  .refine((b) => (b.service === undefined) !== (b.servers === undefined), {
    message: 'set exactly one of `service` (a service another provider defines) or `servers`',
  });

const routerSchema = z
  .object({
    rule: z.string().min(1, 'must not be empty'),
    entryPoints: z.array(z.string().min(1)).min(1).optional(),
    middlewares: z.array(z.string().min(1)).optional(),
    priority: z.number().int().min(0).optional(),
    tls: z
      .union([z.literal(true), z.object({ certResolver: z.string().min(1).optional() }).strict()])
      .optional(),
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
      const sum = Object.values(split.defaultWeights).reduce((a, b) => a + b, 0);
      if (sum === 0) {
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
