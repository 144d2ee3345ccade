import { z } from 'zod';

/** Placeholder until the rollout plan lands: any rollout section is accepted as-is. */
export const rolloutPlanSchema = z.unknown();
