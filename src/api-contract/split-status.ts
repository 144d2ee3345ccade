import { z } from 'zod';
import { rolloutStatusSchema } from './rollout-status';

/** Weights as the service answers them; what a write accepts is `weightsBodySchema`. */
export const weightsSchema = z.record(z.string(), z.number().int().min(0)).meta({
  id: 'Weights',
  description: 'weight per backend name (non-negative integers)',
  example: { canary: 25, main: 75 },
});

export const sharesSchema = z
  .record(z.string(), z.number().min(0).max(100))
  .meta({ id: 'Shares', description: 'share of each backend in percent, two decimals' });

export const backendSchema = z
  .looseObject({
    name: z.string(),
    service: z.string().optional().meta({
      description: 'a service another provider defines, e.g. `council-main@docker`',
    }),
    servers: z.array(z.string().meta({ format: 'uri' })).optional(),
    version: z.string().optional(),
  })
  .meta({ id: 'Backend' });

/** What one Traefik instance shows for a split (status field `traefik`, TRAEFIK_API_URLS set). */
export const traefikViewSchema = z
  .looseObject({
    traefik: z.string(),
    applied: z.boolean().meta({
      description: "the instance's weighted service equals what the service serves now",
    }),
    since: z.string().nullable().meta({
      format: 'date-time',
      description: 'since when it has been applied (or has lagged)',
    }),
    weights: weightsSchema.nullable().meta({
      description: 'children and weights as that Traefik shows them; null when not read',
    }),
    error: z.string().optional(),
  })
  .meta({
    id: 'TraefikView',
    description: 'what one Traefik instance (TRAEFIK_API_URLS) shows for the split',
  });

/**
 * The facts every split status has. The fields a status adds to them (`traefik`, `rollout`, and
 * any a newer service adds) are extra facts: canaryctl prints them after the table.
 */
export const splitCoreStatusSchema = z.looseObject({
  name: z.string(),
  stable: z.string().meta({ description: 'the backend that takes all traffic on rollback' }),
  canary: z.string().meta({ description: 'the backend that scale and promote move' }),
  backends: z.array(backendSchema),
  weights: z.looseObject({
    stored: z
      .record(z.string(), z.union([z.number().int(), z.string()]))
      .nullable()
      .meta({
        description:
          'the hash in Redis as stored (a value that is not an integer stays text); null when the key is missing or not a hash',
      }),
    served: weightsSchema.nullable().meta({ description: 'what GET /traefik serves' }),
  }),
  storedKeyType: z.string().nullable().meta({
    description: '`hash`, `none` (missing), or the Redis type of a key of the wrong type',
  }),
  shares: sharesSchema.nullable(),
  source: z
    .enum(['redis', 'default', 'last-valid', 'snapshot'])
    .nullable()
    .meta({ description: 'where the served weights come from' }),
  valid: z.boolean().nullable().meta({
    description: 'whether the stored weights are valid; when not, `problems` says why',
  }),
  problems: z.array(z.string()),
  etag: z.string().nullable().meta({ description: "the split's version, for If-Match" }),
  stale: z
    .boolean()
    .meta({ description: 'Redis is unreachable and the last good state is served' }),
  snapshot: z
    .object({ writtenAt: z.string().meta({ format: 'date-time' }), ageSeconds: z.number().int() })
    .optional()
    .meta({
      description:
        'present (with `source: snapshot`) while the service serves the last-good snapshot it read at start because Redis did not answer; gone once Redis answers',
    }),
});

export const splitStatusSchema = splitCoreStatusSchema
  .extend({
    traefik: z
      .array(traefikViewSchema)
      .optional()
      .meta({ description: 'present when TRAEFIK_API_URLS is set' }),
    rollout: rolloutStatusSchema.optional().meta({
      description: 'present for a split with a rollout plan that has had a rollout',
    }),
  })
  .meta({ id: 'SplitStatus' });
export type SplitStatus = z.infer<typeof splitStatusSchema>;

export const splitListSchema = z
  .looseObject({ splits: z.array(splitStatusSchema) })
  .meta({ id: 'SplitList' });

export const auditEventSchema = z
  .looseObject({
    id: z.string().meta({ description: 'the Redis stream entry id', example: '1714560000000-0' }),
    time: z.string().meta({ format: 'date-time' }),
    split: z.string(),
    action: z.enum(['set', 'scale', 'rollback', 'promote', 'external', 'rollout']),
    source: z.enum(['api', 'cli', 'controller', 'external']).meta({
      description: '`external`: a change made outside the service (redis-cli), recorded once',
    }),
    actor: z.string(),
    reason: z.string(),
    before: weightsSchema.nullable(),
    after: weightsSchema.nullable(),
    beforeText: z.record(z.string(), z.string()).optional().meta({
      description:
        'fields whose stored text was not a weight (e.g. `inf` typed with redis-cli), as that text',
    }),
    afterText: z.record(z.string(), z.string()).optional(),
    details: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'extra facts, e.g. the failed check of an automatic rollback' }),
    corrupt: z.array(z.string()).optional().meta({
      description: 'what of the stored event could not be read (it is shown without those parts)',
    }),
  })
  .meta({ id: 'AuditEvent' });
export type AuditEvent = z.infer<typeof auditEventSchema>;

export const historySchema = z
  .looseObject({ split: z.string(), events: z.array(auditEventSchema) })
  .meta({ id: 'History' });

export const writeResultSchema = splitStatusSchema
  .extend({ event: auditEventSchema })
  .meta({ id: 'WriteResult' });
export type WriteResult = z.infer<typeof writeResultSchema>;
