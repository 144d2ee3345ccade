/**
 * The service under test, started two ways:
 * - in this process (startServiceUnderTest, or useServiceUnderTest for a whole describe block):
 *   port 0, a key prefix of its own, the rollout controller on or off;
 * - as a child process (startServiceProcess): `node dist/src/main.js`, as `npm start` runs it, for
 *   tests that crash it, restart it or run several replicas.
 * Both use ADMIN_TOKEN and, in process, SPLITS_DOCUMENT unless told otherwise. canaryctl, run
 * against either, is here too (runCli).
 */
import type { ChildProcess } from 'node:child_process';
import type { RequestListener } from 'node:http';
import type { Writable } from 'node:stream';
import path from 'node:path';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import YAML from 'yaml';
import { loadEnv } from '../../src/config/env';
import { parseSplitsDocument } from '../../src/config/splits';
import { createLogger } from '../../src/log/logger';
import { startService, type RunningService } from '../../src/service';
import { ensureBuilt, ROOT } from '../../scripts/lib/build-dist';
import {
  exited,
  runProcess,
  spawnCaptured,
  waitExit,
  type ProcessRun,
} from '../../scripts/lib/child-process';
import type { CrashableProcess } from '../../scripts/lib/crashable-process';
import { waitUntil } from '../../scripts/lib/ports';
import { useRedisServer, type RedisUnderTest } from './redis-under-test';
import { uniquePrefix } from '../../scripts/lib/redis-process';
import { councilRouter, councilServers, councilSplit } from './splits-fixtures';

const MAIN = path.join(ROOT, 'dist/src/main.js');
const CLI_BIN = path.join(ROOT, 'dist/src/cli/canaryctl.js');

/** The admin token every service under test accepts, unless a test sets ADMIN_TOKEN itself. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/**
 * The splits used across tests: council (main/canary, servers we define, a router) and search
 * (services other providers define; its third backend shows that scale, rollback and promote set
 * every other backend to 0).
 */
export const SPLITS_DOCUMENT = {
  splits: {
    council: councilSplit({
      backends: councilServers({ main: '1.4.2', canary: '1.5.0' }),
      defaultWeights: { main: 100, canary: 0 },
      router: councilRouter(),
    }),
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

/**
 * startServiceUnderTest options for the rollout API alone: council has a rollout plan and the API
 * is mounted, but no controller runs, so nothing applies a step on its own and every answer of the
 * rollout API is deterministic.
 */
export const ROLLOUT_API_WITHOUT_CONTROLLER = { splits: SPLITS_WITH_ROLLOUT, controller: false };

export interface ServiceUnderTest extends RunningService {
  prefix: string;
  /** What the service's server runs (GET /traefik is answered before Express). */
  listener: RequestListener;
  /** The Express app startService built, routers included: what the route walk reads. */
  app: Express;
  /** Removes every key under this service's prefix (and only those). */
  cleanup(redis: Redis): Promise<void>;
}

export interface ServiceUnderTestOptions {
  redisUrl: string;
  /** A splits document (object or YAML text); SPLITS_DOCUMENT by default. */
  splits?: unknown;
  /** Overrides any environment variable (PROVIDER_TOKEN, RESYNC_INTERVAL_MS, ADMIN_TOKEN, …). */
  env?: Record<string, string>;
  /** A key prefix of the test's choosing; a unique one by default. */
  prefix?: string;
  /**
   * false: the whole service, rollout API included, without the rollout controller: nothing
   * applies a step on its own, so every answer of the rollout API is deterministic.
   */
  controller?: boolean;
  /**
   * Where the service logs, at info unless `env` sets LOG_LEVEL: for a test that reads what the
   * service logged. Without it the service logs nothing (TEST_LOG_LEVEL to see it on stdout).
   */
  logSink?: Writable;
}

/** Starts the real service in this process on port 0, under its own key prefix. */
export async function startServiceUnderTest(
  options: ServiceUnderTestOptions,
): Promise<ServiceUnderTest> {
  const prefix = options.prefix ?? uniquePrefix('svc');
  const env = loadEnv({
    PORT: '0',
    REDIS_URL: options.redisUrl,
    KEY_PREFIX: prefix,
    ADMIN_TOKEN,
    LOG_LEVEL: options.logSink ? 'info' : (process.env.TEST_LOG_LEVEL ?? 'silent'),
    // Tests that want a snapshot name their own file; none shares the repository's ./data.
    SNAPSHOT_FILE: 'off',
    ...options.env,
  });
  const doc = typeof options.splits === 'string' ? YAML.parse(options.splits) : options.splits;
  const splits = parseSplitsDocument(doc ?? SPLITS_DOCUMENT, 'test splits');
  const service = await startService(env, createLogger(env.LOG_LEVEL, options.logSink), splits, {
    controller: options.controller,
  });
  return Object.assign(service, {
    prefix,
    listener: service.server.listeners('request')[0] as RequestListener,
    cleanup: async (redis: Redis) => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    },
  });
}

export interface ServiceUnderTestContext extends RedisUnderTest {
  svc: ServiceUnderTest;
}

/**
 * The service in this process for a describe block: started beforeAll (or beforeEach with
 * `each: true`, for tests that each need a fresh one), stopped and its keys removed after. It runs
 * on `redis` when given (a useRedisServer of an enclosing block), else on a useRedisServer of its
 * own. `options` may be a function, for values known only once other hooks have run (a
 * Prometheus's URL, a free port).
 */
export function useServiceUnderTest(
  options:
    | Omit<ServiceUnderTestOptions, 'redisUrl'>
    | (() => Promise<Omit<ServiceUnderTestOptions, 'redisUrl'>>) = {},
  { each = false, redis }: { each?: boolean; redis?: RedisUnderTest } = {},
): ServiceUnderTestContext {
  const stop = async () => {
    await handle.svc?.stop();
    await handle.svc?.cleanup(handle.redis);
  };
  const own = redis === undefined && !each;
  const base = redis ?? useRedisServer(own ? stop : undefined);
  const handle = {
    get redisServer() {
      return base.redisServer;
    },
    get redis() {
      return base.redis;
    },
  } as ServiceUnderTestContext;
  const start = async () => {
    const given = typeof options === 'function' ? await options() : options;
    handle.svc = await startServiceUnderTest({ ...given, redisUrl: handle.redisServer.url });
  };
  if (each) {
    beforeEach(start);
    afterEach(stop);
  } else {
    beforeAll(start);
    if (!own) afterAll(stop);
  }
  return handle;
}

/** The built service as a child process; stop() is a SIGKILL too. */
export interface ServiceProcess extends CrashableProcess {
  output(): string;
  /** The process id while it runs. */
  pid(): number | undefined;
}

/**
 * Runs the built service (`node dist/src/main.js`, what `npm start` runs) as a child process on a
 * given port with ADMIN_TOKEN and `env`, and waits until /health answers.
 */
export async function startServiceProcess(
  port: number,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  await ensureBuilt(['src']);
  let child: ChildProcess | undefined;
  // Each launch's output, after the launches before it (a restart keeps what the crash logged).
  let earlier = '';
  let current = (): string => '';
  const out = (): string => earlier + current();
  const url = `http://127.0.0.1:${port}`;
  const launch = async (): Promise<void> => {
    earlier = out();
    const started = spawnCaptured(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        ADMIN_TOKEN,
        LOG_LEVEL: 'info',
        // Tests that want a snapshot name their own file; none shares the repository's ./data.
        SNAPSHOT_FILE: 'off',
        ...env,
      },
    });
    const c = started.child;
    child = c;
    current = started.output;
    try {
      await waitUntil(
        'the service to answer /health',
        async () => {
          if (c.exitCode !== null) throw new Error(`the service exited: ${out()}`);
          const res = await fetch(`${url}/health`);
          return res.status === 200;
        },
        15_000,
        50,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- service output ---\n${out().slice(-3000)}`);
    }
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || exited(c)) return;
    c.kill('SIGKILL');
    await waitExit(c, 5_000);
  };
  await launch();
  return {
    url,
    port,
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: kill,
    output: out,
    pid: () => child?.pid,
  };
}

/**
 * Runs the built `canaryctl` as a child process, asynchronously (an in-process service must keep
 * answering meanwhile). Only the variables given are set, besides PATH.
 */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<ProcessRun> {
  return runProcess(process.execPath, [CLI_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    timeoutMs,
    label: `canaryctl ${args.join(' ')}`,
  });
}

/** Builds dist/ when canaryctl's compiled files are missing or older than their sources. */
export async function ensureCliBuilt(): Promise<void> {
  await ensureBuilt(['src/cli', 'src/shared']);
}
