import { UsageError } from '../../src/cli/cli-error';

/** The UsageError that `fn` throws; any other outcome fails the test. */
export function usageErrorOf(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('expected a UsageError');
}
