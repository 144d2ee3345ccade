import type { RequestListener } from 'node:http';
import path from 'node:path';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { RunningService } from '../../src/service';
import { buildDist, staleOutputs } from '../../scripts/lib/build-dist';
import { runProcess, type ProcessRun } from '../../scripts/lib/child-process';
import { startTestService, TEST_SPLITS } from './in-process-service';

export const ROOT = path.resolve(__dirname, '../..');
export const CLI_BIN = path.join(ROOT, 'dist/src/cli/canaryctl.js');
export const ADMIN_TOKEN = 'cli-test-admin-token-0123456789';

export const SPLITS_DOCUMENT = TEST_SPLITS;

/** SPLITS_DOCUMENT with a rollout plan on council (no checks: no Prometheus needed). */
export const SPLITS_WITH_ROLLOUT = {
  splits: {
    ...SPLITS_DOCUMENT.splits,
    council: {
      ...SPLITS_DOCUMENT.splits.council,
      rollout: { steps: [5, 25, 50, 100], bakeTime: '1h', autoPromote: false },
    },
  },
};

export interface ServiceUnderTest extends RunningService {
  prefix: string;
  /** What the service's server runs (GET /traefik is answered before Express). */
  listener: RequestListener;
  /** The Express app startService built, routers included: what the route walk reads. */
  app: Express;
  /** Removes every key under this service's prefix (and only those). */
  cleanup(redis: Redis): Promise<void>;
}

/**
 * Starts the real service in this process on port 0 under its own key prefix (startTestService),
 * with this file's ADMIN_TOKEN and splits. `env` overrides any variable (e.g. PROVIDER_TOKEN).
 */
export async function startServiceUnderTest(options: {
  redisUrl: string;
  env?: Record<string, string>;
  splits?: unknown;
  controller?: boolean;
}): Promise<ServiceUnderTest> {
  const service = await startTestService({
    redisUrl: options.redisUrl,
    splits: options.splits ?? SPLITS_DOCUMENT,
    controller: options.controller,
    env: { ADMIN_TOKEN, RESYNC_INTERVAL_MS: '200', ...options.env },
  });
  return Object.assign(service, {
    listener: service.server.listeners('request')[0] as RequestListener,
    cleanup: async (redis: Redis) => {
      const keys = await redis.keys(`${service.prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    },
  });
}

export type CliRun = ProcessRun;

/**
 * Runs the built `canaryctl` as a child process, asynchronously (an in-process service must keep
 * answering meanwhile). Only the variables given are set, besides PATH.
 */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<CliRun> {
  return runProcess(process.execPath, [CLI_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    timeoutMs,
    label: `canaryctl ${args.join(' ')}`,
  });
}

/**
 * Builds dist/ when the CLI's compiled files are missing or older than their sources. A type
 * error elsewhere in the tree (tsc still emits) does not stop the CLI tests; a stale CLI does.
 */
export async function ensureCliBuilt(): Promise<void> {
  const sources = ['src/cli', 'src/shared'];
  if (staleOutputs(sources).length === 0) return;
  const result = await buildDist();
  const stale = staleOutputs(sources);
  if (stale.length > 0) {
    throw new Error(`the build left canaryctl stale (${stale.join(', ')}):\n${result.output}`);
  }
}

export interface AppWithRollouts {
  url: string;
  app: Express;
  prefix: string;
  stop(): Promise<void>;
  cleanup(redis: Redis): Promise<void>;
}

/**
 * The real service with a rollout plan on council and the rollout API mounted, but no controller
 * running: nothing applies a step on its own, so every answer of the rollout API is deterministic.
 */
export async function startAppWithRollouts(options: {
  redisUrl: string;
  splits?: unknown;
}): Promise<AppWithRollouts> {
  const service = await startServiceUnderTest({
    redisUrl: options.redisUrl,
    splits: options.splits ?? SPLITS_WITH_ROLLOUT,
    controller: false,
  });
  return {
    url: service.url,
    app: service.app,
    prefix: service.prefix,
    stop: () => service.stop(),
    cleanup: (redis) => service.cleanup(redis),
  };
}
