/**
 * What a test file started and ends after: a process handle (stop), a client or connection pool
 * (close), or a cleanup function.
 */
export type Stoppable = { stop(): unknown } | { close(): unknown } | (() => unknown) | undefined;

/**
 * Ends what a test file started, one after the other in the order given: Traefik before the
 * service it polls, the service before the Redis it writes to, so none of them logs the others'
 * shutdown as a failure. What a failed beforeAll never started is undefined and skipped.
 */
export async function stopInOrder(...parts: Stoppable[]): Promise<void> {
  for (const part of parts) {
    if (part === undefined) continue;
    if (typeof part === 'function') await part();
    else if ('stop' in part) await part.stop();
    else await part.close();
  }
}
