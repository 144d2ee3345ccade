import { z } from 'zod';
import { MAX_WEIGHT } from './limits';

/**
 * The rules a split's weights obey wherever they come from: splits.yaml's defaultWeights, an API
 * body, a write to the store, or what is found in Redis. One backend's weight is an integer from
 * 0 to MAX_WEIGHT; a split's weights are valid only when at least one is above 0, because when
 * every child of a weighted service is 0 Traefik answers 503 "no available server" to every
 * request. Each caller words its own message; the rules themselves live only here.
 */

/** Whether `value` is one backend's weight: an integer from 0 to MAX_WEIGHT. */
export function isWeight(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_WEIGHT;
}

/** One backend's weight in a zod schema (splits.yaml, API bodies). */
export const weightSchema = z
  .number()
  .int('must be an integer')
  .min(0, 'must be >= 0')
  .max(MAX_WEIGHT, `must be <= ${MAX_WEIGHT}`);

/** Whether a split's weights would leave Traefik no backend to send a request to. */
export function allZero(weights: Readonly<Record<string, number>>): boolean {
  return Object.values(weights).every((w) => w === 0);
}
