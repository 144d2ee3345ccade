import { z } from 'zod';
import { reasonSchema } from './split-requests';

export const rolloutStartBodySchema = z
  .object({
    version: z
      .string()
      .min(1, 'must not be empty')
      .max(128, 'must be at most 128 characters')
      .optional()
      .meta({ description: "the canary's version (feeds swarm_deployment_version)" }),
    reason: reasonSchema.optional(),
  })
  .strict()
  .meta({ id: 'RolloutStartBody' });
