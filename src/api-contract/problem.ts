import { z } from 'zod';

export const fieldProblemSchema = z
  .object({
    path: z.string().meta({ example: 'weights.canary' }),
    message: z.string().meta({ example: 'must be >= 0' }),
  })
  .meta({ id: 'FieldProblem' });

/** RFC 9457 problem details, as the service's one error handler writes them. */
export const problemSchema = z
  .looseObject({
    type: z.string().meta({
      format: 'uri',
      description: '`https://traefik-canary-provider.dev/problems/<code>`',
    }),
    title: z.string().meta({ description: 'the stable code, e.g. `VALIDATION_FAILED`' }),
    status: z.number().int(),
    detail: z.string().meta({ description: 'what is wrong and, where it helps, what to do' }),
    instance: z.string().optional().meta({ description: "the request's path and query" }),
    errors: z
      .array(fieldProblemSchema)
      .optional()
      .meta({ description: 'validation problems, one per field' }),
    replicasWanted: z
      .number()
      .int()
      .optional()
      .meta({ description: '`write-not-replicated`: the replicas REDIS_WRITE_REPLICAS asks for' }),
    replicasConfirmed: z.number().int().optional().meta({
      description:
        '`write-not-replicated`: the replicas that confirmed in time (absent when WAIT itself failed)',
    }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });
export type Problem = z.infer<typeof problemSchema>;
