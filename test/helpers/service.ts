import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http, { type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { parseSplitsDocument } from '../../src/config/splits';
import { createApp } from '../../src/http/app';
import { rolloutRouter } from '../../src/http/routes/rollout-routes';
import { createLogger } from '../../src/log/logger';
import { createMetrics, createRegistry } from '../../src/metrics/metrics';
import { createRollouts } from '../../src/rollout';
import type { RunningService } from '../../src/service';
import { createRedis } from '../../src/store/redis-client';
import { WeightsStore } from '../../src/store/weights-store';
import { ConfigProvider } from '../../src/traefik/provider';
import { startTestService, TEST_SPLITS } from './in-process-service';
import { uniquePrefix } from './redis-server';

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
}): Promise<ServiceUnderTest> {
  const service = await startTestService({
    redisUrl: options.redisUrl,
    splits: options.splits ?? SPLITS_DOCUMENT,
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

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `canaryctl` as a child process, asynchronously (an in-process service must keep
 * answering meanwhile). Only the variables given are set, besides PATH.
 */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`canaryctl ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function sourcesOfCli(): string[] {
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const full = path.join(dir, e.name);
      return e.isDirectory() ? walk(full) : e.name.endsWith('.ts') ? [full] : [];
    });
  return [...walk(path.join(ROOT, 'src/cli')), ...walk(path.join(ROOT, 'src/shared'))];
}

function staleOutputs(): string[] {
  return sourcesOfCli().filter((src) => {
    const out = path.join(ROOT, 'dist', path.relative(ROOT, src)).replace(/\.ts$/, '.js');
    return !fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs;
  });
}

/**
 * Builds dist/ when the CLI's compiled files are missing or older than their sources. A type
 * error elsewhere in the tree (tsc still emits) does not stop the CLI tests; a stale CLI does.
 */
export async function ensureCliBuilt(): Promise<void> {
  if (staleOutputs().length === 0) return;
  const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
  const stale = staleOutputs();
  if (stale.length > 0) {
    throw new Error(
      `the build left canaryctl stale (${stale.map((s) => path.relative(ROOT, s)).join(', ')}):\n${result.output}`,
    );
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
 * createApp with the real rollout router mounted through `apiRouters`, as `createRollouts` offers
 * it, but no controller running: nothing applies a step on its own, so every answer of the rollout
 * API is deterministic.
 */
export async function startAppWithRollouts(options: {
  redisUrl: string;
  splits?: unknown;
}): Promise<AppWithRollouts> {
  const prefix = uniquePrefix('rollout');
  const splits = parseSplitsDocument(options.splits ?? SPLITS_WITH_ROLLOUT, 'test splits');
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const registry = createRegistry('');
  const metrics = createMetrics(registry, '');
  const redis = createRedis(options.redisUrl, 'rollout-test');
  const store = new WeightsStore({ redis, keyPrefix: prefix, splits, log });
  const provider = new ConfigProvider({ splits, store, metrics, log });
  const rollouts = createRollouts({
    redis,
    keyPrefix: prefix,
    splits,
    store,
    registry,
    metricsPrefix: '',
    metrics,
    log,
  });
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  await provider.refresh();
  const app = createApp({
    splits,
    provider,
    store,
    metrics,
    registry,
    log,
    adminToken: ADMIN_TOKEN,
    readyWithinMs: 5_000,
    apiRouters: [rolloutRouter(rollouts.service, splits)],
    describe: rollouts.describe,
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    prefix,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rollouts.stop();
      redis.disconnect();
    },
    cleanup: async (conn: Redis) => {
      const keys = await conn.keys(`${prefix}*`);
      if (keys.length > 0) await conn.del(...keys);
    },
  };
}
