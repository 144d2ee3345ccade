import { parseSplitsDocument, type SplitsConfig } from '../../src/config/splits';

/**
 * Council's two backends, one server each: by default 127.0.0.1:9000 (main) and :9001 (canary),
 * addresses that are rendered and never dialled; `urls` puts real backends there instead.
 * `versions` adds a version to either.
 */
export function councilServers(
  versions: { main?: string; canary?: string } = {},
  urls: { main: string; canary: string } = {
    main: 'http://127.0.0.1:9000',
    canary: 'http://127.0.0.1:9001',
  },
): {
  main: { servers: string[]; version?: string };
  canary: { servers: string[]; version?: string };
} {
  const withVersion = (url: string, version: string | undefined) =>
    version === undefined ? { servers: [url] } : { servers: [url], version };
  return {
    main: withVersion(urls.main, versions.main),
    canary: withVersion(urls.canary, versions.canary),
  };
}

/**
 * The council split most tests declare: `main` is stable, `canary` the canary, on councilServers();
 * `fields` adds or overrides the rest (backends, defaultWeights, router, rollout, …).
 */
export function councilSplit<Fields extends Record<string, unknown> = Record<never, never>>(
  fields: Fields = {} as Fields,
): Omit<CouncilDefaults, keyof Fields> & Fields {
  const defaults: CouncilDefaults = {
    stable: 'main',
    canary: 'canary',
    backends: councilServers(),
  };
  return { ...defaults, ...fields };
}

type CouncilDefaults = {
  stable: string;
  canary: string;
  backends: ReturnType<typeof councilServers>;
};

/**
 * The router tests put council behind: Host(`host`), council.localhost by default, on entryPoint
 * `web`; `extra` adds fields (priority, …). A new object each time, so a test that changes it
 * changes only its own.
 */
export function councilRouter(
  extra: Record<string, unknown> = {},
  host = 'council.localhost',
): Record<string, unknown> {
  return { rule: `Host(\`${host}\`)`, entryPoints: ['web'], ...extra };
}

/**
 * The council split the rollout tests run, parsed: stable 100 % by default, canary at
 * `canaryVersion`, and `rollout` as the plan (each test adds its interval, checks and
 * notifications).
 */
export function councilWithRollout(
  rollout: Record<string, unknown>,
  canaryVersion = '1.5.0',
): SplitsConfig {
  return parseSplitsDocument(
    {
      splits: {
        council: councilSplit({
          backends: councilServers({ canary: canaryVersion }),
          defaultWeights: { main: 100, canary: 0 },
          rollout,
        }),
      },
    },
    'test splits',
  );
}
