import { z } from 'zod';

/**
 * What the CLI reads from the service's answers. Loose objects: fields the service adds later
 * (e.g. rollout progress, what Traefik applied) pass through and are shown as extra facts.
 */
const weights = z.record(z.string(), z.number());

export const splitStatusSchema = z.looseObject({
  name: z.string(),
  stable: z.string(),
  canary: z.string(),
  backends: z.array(
    z.looseObject({
      name: z.string(),
      service: z.string().optional(),
      servers: z.array(z.string()).optional(),
      version: z.string().optional(),
    }),
  ),
  weights: z.looseObject({
    stored: z.record(z.string(), z.union([z.number(), z.string()])).nullable(),
    served: weights.nullable(),
  }),
  shares: weights.nullable(),
  source: z.string().nullable(),
  valid: z.boolean().nullable(),
  problems: z.array(z.string()),
  etag: z.string().nullable(),
  stale: z.boolean(),
});
export type SplitStatus = z.infer<typeof splitStatusSchema>;

/** The fields above: anything else in a status is an extra fact. */
export const STATUS_FIELDS = new Set([...Object.keys(splitStatusSchema.shape), 'storedKeyType']);

export const auditEventSchema = z.looseObject({
  id: z.string(),
  time: z.string(),
  split: z.string(),
  action: z.string(),
  source: z.string(),
  actor: z.string(),
  reason: z.string(),
  before: weights.nullable(),
  after: weights.nullable(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;

export const splitListSchema = z.looseObject({ splits: z.array(splitStatusSchema) });
export const historySchema = z.looseObject({
  split: z.string(),
  events: z.array(auditEventSchema),
});
export const writeResultSchema = splitStatusSchema.extend({ event: auditEventSchema });
export type WriteResult = z.infer<typeof writeResultSchema>;

/** What one Traefik instance shows for a split (status field `traefik`, TRAEFIK_API_URLS set). */
export const traefikViewSchema = z.looseObject({
  traefik: z.string(),
  applied: z.boolean(),
  since: z.string().nullable(),
  error: z.string().optional(),
});

const checkValue = z.union([z.number(), z.string(), z.null()]);

/** The rollout API's answer; only what the CLI prints is required. */
export const rolloutViewSchema = z.looseObject({
  split: z.string(),
  status: z.string(),
  summary: z.string(),
  checks: z
    .array(
      z.looseObject({
        name: z.string(),
        verdict: z.string(),
        value: checkValue,
        threshold: checkValue,
        comparator: z.string(),
        for: z.string(),
        reason: z.string(),
      }),
    )
    .optional(),
});
