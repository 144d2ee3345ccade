/**
 * The two splits that measure a dying canary's blast radius (bench/blast-radius.ts and
 * test/e2e/resilience-through-traefik.test.ts): the same backends and weights, one with what the
 * docs recommend against a failing backend and one without any of it, so that the difference in
 * failed requests is those settings alone.
 */

export interface BlastRadiusBackends {
  mainUrl: string;
  canaryUrl: string;
  /** The canary's weight; main has the rest. */
  canaryPercent: number;
}

type Router = { rule: string } & Record<string, unknown>;

const weightsOf = (b: BlastRadiusBackends) => ({
  main: 100 - b.canaryPercent,
  canary: b.canaryPercent,
});

/**
 * Active health checks on both backends, a passive check that takes the canary out after one
 * failed request, and retry on `router`.
 */
export function guardedSplit(b: BlastRadiusBackends, router: Router): Record<string, unknown> {
  return {
    stable: 'main',
    canary: 'canary',
    backends: {
      main: { servers: [b.mainUrl], healthCheck: { path: '/health', interval: '1s' } },
      canary: {
        servers: [b.canaryUrl],
        healthCheck: { path: '/health', interval: '1s', timeout: '500ms' },
        passiveHealthCheck: { maxFailedAttempts: 1, failureWindow: '3s' },
      },
    },
    defaultWeights: weightsOf(b),
    router: { ...router, retry: { attempts: 3, initialInterval: '20ms' } },
  };
}

/** The same backends and weights with no checks and no retry. */
export function bareSplit(b: BlastRadiusBackends, router: Router): Record<string, unknown> {
  return {
    stable: 'main',
    canary: 'canary',
    backends: { main: { servers: [b.mainUrl] }, canary: { servers: [b.canaryUrl] } },
    defaultWeights: weightsOf(b),
    router,
  };
}
