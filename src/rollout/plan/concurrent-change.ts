import { StaleRevisionError } from './stale-revision-error';
import { WeightsChangedError } from './weights-changed-error';

/**
 * Whether a transition was refused because someone changed the rollout or the weights since they
 * were read: nothing was written, and deciding again on a fresh read is the answer.
 */
export function isConcurrentChange(err: unknown): boolean {
  return err instanceof StaleRevisionError || err instanceof WeightsChangedError;
}
