import { z } from 'zod';

export const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

export const holdWarningsSchema = z
  .array(
    z.object({
      code: z.enum(['poll-interval-exceeds-watch', 'client-timeout-within-watch']),
      detail: z.string(),
    }),
  )
  .meta({
    id: 'HoldWarnings',
    description:
      'Traefik settings that defeat held polls, seen in the last ten minutes; absent when none.',
  });

export const readySchema = z
  .looseObject({ status: z.literal('ready'), warnings: holdWarningsSchema.optional() })
  .meta({ id: 'Ready' });

export const notReadySchema = z
  .looseObject({
    status: z.literal('not ready'),
    source: z.enum(['redis', 'last-good', 'snapshot', 'none']).meta({
      description:
        'what GET /traefik serves now: `redis` (fresh, but Redis answered too long ago), `last-good` (the last body read from Redis, while Redis is away), `snapshot` (the last-good snapshot read from SNAPSHOT_FILE at start, until Redis answers), `none` (it answers 503)',
    }),
    snapshot: z
      .object({ writtenAt: z.string().meta({ format: 'date-time' }), ageSeconds: z.number().int() })
      .optional()
      .meta({ description: 'present while the last-good snapshot is served' }),
    reasons: z.array(z.string()),
    warnings: holdWarningsSchema.optional(),
  })
  .meta({ id: 'NotReady' });

const routerSchema = z.looseObject({
  rule: z.string(),
  service: z.string(),
  entryPoints: z.array(z.string()).optional(),
  middlewares: z.array(z.string()).optional(),
  priority: z.number().int().optional(),
  tls: z.looseObject({}).optional(),
});

const serviceSchema = z.looseObject({
  weighted: z
    .looseObject({
      services: z.array(z.looseObject({ name: z.string(), weight: z.number().int().min(1) })).meta({
        description:
          'children with a weight above 0 only: Traefik builds every child before it looks at the weight, so a child it cannot build breaks the whole service even at weight 0',
      }),
      sticky: z.looseObject({}).optional(),
    })
    .optional(),
  loadBalancer: z.looseObject({ servers: z.array(z.looseObject({ url: z.string() })) }).optional(),
});

export const traefikConfigurationSchema = z
  .looseObject({
    http: z.looseObject({
      routers: z.record(z.string(), routerSchema).optional(),
      services: z.record(z.string(), serviceSchema).meta({
        description: '`<split>` (weighted) and `<split>-<backend>` (servers we define)',
      }),
    }),
  })
  .meta({
    id: 'TraefikConfiguration',
    description: 'Traefik dynamic configuration, the subset this provider emits; keys sorted',
  });
