import YAML from 'yaml';
import { loadEnv } from '../../src/config/env';
import { parseSplitsDocument } from '../../src/config/splits';
import { createLogger } from '../../src/log/logger';
import { startService, type RunningService, type StartServiceOptions } from '../../src/service';
import { uniquePrefix } from './redis-server';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

/**
 * The splits used across tests: council (main/canary, servers we define, a router) and search
 * (services other providers define; its third backend shows that scale, rollback and promote set
 * every other backend to 0).
 */
export const TEST_SPLITS = {
  splits: {
    council: {
      stable: 'main',
      canary: 'canary',
      backends: {
        main: { servers: ['http://127.0.0.1:9000'], version: '1.4.2' },
        canary: { servers: ['http://127.0.0.1:9001'], version: '1.5.0' },
      },
      defaultWeights: { main: 100, canary: 0 },
      router: { rule: 'Host(`council.localhost`)', entryPoints: ['web'] },
    },
    search: {
      stable: 'blue',
      canary: 'green',
      backends: {
        blue: { service: 'search-blue@docker' },
        green: { service: 'search-green@docker' },
        shadow: { service: 'search-shadow@docker' },
      },
    },
  },
};

export interface TestService extends RunningService {
  prefix: string;
}

/** Starts the real service in this process on port 0, under its own key prefix. */
export async function startTestService(
  options: {
    redisUrl: string;
    splits?: unknown;
    env?: Record<string, string>;
    prefix?: string;
  } & StartServiceOptions,
): Promise<TestService> {
  const prefix = options.prefix ?? uniquePrefix('svc');
  const env = loadEnv({
    PORT: '0',
    REDIS_URL: options.redisUrl,
    KEY_PREFIX: prefix,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Tests that want a snapshot name their own file; none shares the repository's ./data.
    SNAPSHOT_FILE: 'off',
    ...options.env,
  });
  const doc = typeof options.splits === 'string' ? YAML.parse(options.splits) : options.splits;
  const splits = parseSplitsDocument(doc ?? TEST_SPLITS, 'test splits');
  const service = await startService(env, createLogger(env.LOG_LEVEL), splits, {
    controller: options.controller,
  });
  return Object.assign(service, { prefix });
}
