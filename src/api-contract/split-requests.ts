import { z } from 'zod';
import { durationPattern, WAIT_TIMEOUT } from '../shared/duration';
import { weightSchema } from './weight-rules';

export const reasonSchema = z
  .string()
  .max(500, 'must be at most 500 characters')
  .meta({ id: 'Reason', description: 'why, recorded in the audit event' });

export const weightsBodySchema = z
  .object({
    weights: z
      .record(z.string(), weightSchema)
      .meta({ description: 'every backend of the split; at least one above 0' }),
    reason: reasonSchema.optional(),
  })
  .strict()
  .meta({
    id: 'WeightsBody',
    example: { weights: { main: 75, canary: 25 }, reason: 'second step' },
  });

export const scaleBodySchema = z
  .object({
    percent: z
      .number()
      .int('must be an integer')
      .min(0, 'must be from 0 to 100')
      .max(100, 'must be from 0 to 100'),
    reason: reasonSchema.optional(),
  })
  .strict()
  .meta({ id: 'ScaleBody', example: { percent: 25, reason: 'second step' } });

export const reasonBodySchema = z
  .object({ reason: reasonSchema.optional() })
  .strict()
  .meta({ id: 'ReasonBody' });

/** `?wait=applied&timeout=10s` on a weights write. */
export const waitQuerySchema = z
  .object({
    wait: z
      .literal('applied', { error: 'the only value is "applied"' })
      .optional()
      .meta({
        param: {
          id: 'Wait',
          description:
            '`applied`: answer once every Traefik in TRAEFIK_API_URLS shows the new weights, or 504 naming the ones that lag. 400 when TRAEFIK_API_URLS is not set.',
        },
      }),
    timeout: z
      .string()
      .regex(durationPattern(WAIT_TIMEOUT), 'must be a duration like 500ms or 10s')
      .optional()
      .meta({
        param: {
          id: 'WaitTimeout',
          example: '10s',
          description: 'with `wait=applied`, how long to wait (1ms to 120s; default 10s)',
        },
      }),
  })
  .loose();

export const historyQuerySchema = z
  .object({
    limit: z.coerce
      .number()
      .int('must be an integer')
      .min(1, 'must be from 1 to 1000')
      .max(1000, 'must be from 1 to 1000')
      .default(20)
      .meta({ param: { description: 'how many events' } }),
  })
  .strict();
