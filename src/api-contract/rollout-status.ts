import { z } from 'zod';

export const checkValueSchema = z.union([z.number(), z.string(), z.null()]).meta({
  id: 'CheckValue',
  description: 'a number, `NaN`/`+Inf`/`-Inf` as text, or null when not evaluated',
});

export const rolloutCheckSchema = z
  .looseObject({
    name: z.string(),
    type: z.enum(['threshold', 'comparison', 'traefik']),
    query: z.string().nullable().meta({
      description:
        "The PromQL the check runs: the written query (a comparison check's template) or, for a built-in `traefik` check, the query built for the canary's Traefik service.",
    }),
    stableQuery: z.string().nullable().meta({
      description:
        'Built-in checks with `compareTo: stable`: the query run for the stable backend.',
    }),
    verdict: z
      .string()
      .meta({ description: 'pass, fail, inconclusive, or unknown (not evaluated yet)' }),
    value: checkValueSchema,
    threshold: checkValueSchema,
    stable: checkValueSchema,
    comparator: z.string(),
    for: z.string(),
    breachSince: z.string().nullable(),
    evaluatedAt: z.string().nullable(),
    reason: z.string(),
  })
  .meta({ id: 'RolloutCheck' });

export const rolloutStatusSchema = z
  .looseObject({
    split: z.string(),
    status: z.enum(['progressing', 'paused', 'rolled_back', 'completed', 'finalised']),
    version: z.string().nullable(),
    step: z.number().int().meta({ description: '1-based' }),
    steps: z.number().int(),
    canaryPercent: z.number().meta({ description: 'the canary share the rollout wants now' }),
    percentages: z.array(z.number()),
    applied: z.boolean().meta({
      description: 'false while a transition is decided but its weights are not written yet',
    }),
    bake: z
      .looseObject({
        startedAt: z.string().nullable(),
        totalMs: z.number(),
        elapsedMs: z.number(),
        remainingMs: z.number(),
        total: z.string(),
        elapsed: z.string(),
        remaining: z.string(),
      })
      .nullable(),
    autoPromote: z.boolean().nullable(),
    awaitingPromotion: z.boolean(),
    pausedBy: z
      .enum(['inconclusive', 'operator', 'external', 'invalid', 'analysis-errors'])
      .nullable(),
    reason: z.string(),
    checks: z.array(rolloutCheckSchema),
    lastAnalysisAt: z.string().nullable(),
    rollback: z
      .looseObject({
        trigger: z.string(),
        actor: z.string(),
        at: z.string(),
        reason: z.string(),
        check: z.string().nullable(),
        value: checkValueSchema,
        threshold: checkValueSchema,
      })
      .nullable(),
    startedAt: z.string(),
    startedBy: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
    leader: z.string().nullable().meta({
      description: 'identity of the replica running rollouts, null when none holds the lease',
    }),
    summary: z.string().meta({ description: 'one line for people (canaryctl prints it)' }),
  })
  .meta({ id: 'RolloutStatus' });
export type RolloutStatus = z.infer<typeof rolloutStatusSchema>;
