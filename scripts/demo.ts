/**
 * `npm run demo`: the real thing on this machine. A throwaway redis-server (unless REDIS_URL is
 * set), the service on the example splits, two backends that name themselves, Traefik polling the
 * service (when the binary exists: `bash scripts/setup.sh` builds it), a bounded traffic generator
 * through Traefik and, when `prometheus` exists, a Prometheus scraping the backends for the rollout
 * controller's check. A live view shows the weights served and the share Traefik actually routed.
 *
 * `npm run demo -- --tour` runs a scripted tour (5 % → 25 % → a bad canary rolled back
 * automatically) and exits 0. Ctrl-C stops every child process.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { loadEnv } from '../src/config/env';
import { parseSplitsDocument } from '../src/config/splits';
import { createLogger } from '../src/log/logger';
import { startService } from '../src/service';
import { startDemoBackend, type DemoBackendHandle } from './lib/demo-backend';
import { startLiveView, type LiveView } from './lib/demo-live';
import { which, sleep } from './lib/child-process';
import { startPrometheus } from './lib/prometheus-process';
import { runTour } from './lib/demo-tour';
import { startTraffic, type TrafficHandle } from './lib/traffic';
import { startLocalTraefik } from './lib/local-traefik';
import { startRedisServer } from './lib/redis-process';
import { ROOT } from './lib/build-dist';

const SPLIT = 'council';
const HOST = 'council.localhost';

/** The canary's error ratio over the last 5 s, from the demo backends' own counters. */
const ERROR_RATIO =
  'sum(rate(demo_requests_total{backend="canary",code="500"}[5s])) / ' +
  'sum(rate(demo_requests_total{backend="canary"}[5s]))';

/** A short plan so the tour's rollout moves (and fails) within seconds. */
const DEMO_ROLLOUT = {
  steps: [5, 25, 50, 100],
  bakeTime: '5s',
  analysisInterval: '1s',
  autoPromote: true,
  checks: [
    {
      name: 'error-ratio',
      type: 'threshold',
      query: ERROR_RATIO,
      comparator: '>',
      threshold: 0.05,
      for: '0s',
      onNoData: 'ignore',
    },
  ],
};

function parseArgs(argv: string[]): { tour: boolean } {
  const unknown = argv.filter((a) => a !== '--tour');
  if (unknown.length > 0) {
    console.error(`demo: unknown argument ${unknown[0]} (usage: npm run demo [-- --tour])`);
    process.exit(2);
  }
  return { tour: argv.includes('--tour') };
}

async function main(): Promise<void> {
  const { tour } = parseArgs(process.argv.slice(2));
  const tty = Boolean(process.stdout.isTTY) && !tour;
  const cleanup: (() => Promise<void> | void)[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      for (const f of cleanup.reverse()) {
        try {
          // Each child gets a few seconds; none may hold up the exit.
          await Promise.race([f(), sleep(6_000)]);
        } catch {
          // best effort on the way out
        }
      }
    })();
    return stopping;
  };
  const exit = (code: number): void => void stopAll().then(() => process.exit(code));
  process.once('SIGINT', () => exit(0));
  process.once('SIGTERM', () => exit(0));

  try {
    let redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      const redis = await startRedisServer();
      cleanup.push(() => redis.stop());
      redisUrl = redis.url;
    }
    const adminToken = process.env.ADMIN_TOKEN || crypto.randomBytes(18).toString('base64url');

    // The example splits, with the demo backends on free ports.
    const doc = YAML.parse(
      fs.readFileSync(path.join(ROOT, 'traefik', 'splits.example.yaml'), 'utf8'),
    );
    const council = doc.splits[SPLIT];
    const backends = new Map<string, DemoBackendHandle>();
    for (const name of ['main', 'canary']) {
      const backend = await startDemoBackend(name, council.backends[name].version ?? name);
      cleanup.push(() => backend.stop());
      backends.set(name, backend);
      council.backends[name].servers = [backend.url];
    }

    let prometheusUrl: string | undefined;
    if (which('prometheus')) {
      const targets = [...backends.values()].map((b) => new URL(b.url).host);
      const prometheus = await startPrometheus({
        targets,
        job: 'demo-backends',
        logLevel: 'error',
      });
      cleanup.push(() => prometheus.stop());
      prometheusUrl = prometheus.url;
      council.rollout = DEMO_ROLLOUT;
    } else {
      delete council.rollout;
    }
    const splits = parseSplitsDocument(doc, 'traefik/splits.example.yaml (demo ports)');

    // The last-good snapshot goes with the rest of the demo's state, not into the repository's
    // ./data (its backends' ports change every run, so an old one would not match anyway).
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-demo-data-'));
    cleanup.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    const env = loadEnv({
      DATA_DIR: dataDir,
      ...process.env,
      REDIS_URL: redisUrl,
      ADMIN_TOKEN: adminToken,
      ...(prometheusUrl && { PROMETHEUS_URL: prometheusUrl }),
    });
    const service = await startService(env, createLogger(process.env.LOG_LEVEL ?? 'error'), splits);
    cleanup.push(() => service.stop());

    const traefik = await startLocalTraefik({
      providerUrl: `${service.url}/traefik`,
      providerToken: env.PROVIDER_TOKEN,
    });
    if (traefik) cleanup.push(() => traefik.stop());

    let traffic: TrafficHandle | undefined;
    if (traefik) {
      traffic = startTraffic(traefik.webUrl, HOST, { concurrency: 4, ratePerSecond: 50 });
      cleanup.push(() => traffic?.stop());
    }

    const prefix = env.KEY_PREFIX;
    const redisPort = new URL(redisUrl).port || '6379';
    const cliEnv = `CANARY_URL=${service.url} CANARY_TOKEN=${adminToken}`;
    const header = [
      'traefik-canary-provider demo',
      '',
      `  service      ${service.url}`,
      `  redis        ${redisUrl}${process.env.REDIS_URL ? '' : ' (throwaway, removed on exit)'}`,
      `  admin token  ${adminToken}`,
      traefik
        ? `  traefik      ${traefik.webUrl}  (API ${traefik.apiUrl}); 50 requests/s for Host ${HOST}\n` +
          `               polls ${service.url}/traefik?watch=25s every 250ms: each poll is held until the weights change`
        : '  traefik      not started: no Traefik binary (bash scripts/setup.sh builds it); no traffic to watch',
      prometheusUrl
        ? `  prometheus   ${prometheusUrl}  (rollout check: canary error ratio > 5 %)`
        : '  prometheus   not found: rollouts run without checks',
      '',
      'Try, in another terminal:',
      `  ${cliEnv} npx canaryctl scale ${SPLIT} 25`,
      `  ${cliEnv} npx canaryctl rollback ${SPLIT} --reason "p95"`,
      ...(prometheusUrl
        ? [`  ${cliEnv} npx canaryctl rollout start ${SPLIT} --version 1.5.0`]
        : []),
      `  redis-cli -p ${redisPort} HSET ${prefix}weights:${SPLIT} canary 0   # emergency zeroing`,
      ...(traefik ? [`  curl -s -H 'Host: ${HOST}' ${traefik.webUrl}/`] : []),
      '',
      'Ctrl-C stops everything.',
      '',
    ];
    if (!tty) console.log(header.join('\n'));

    const view: LiveView = startLiveView({
      serviceUrl: service.url,
      split: SPLIT,
      backends: [...backends.keys()],
      traffic,
      tty,
      header,
      write: (text) => process.stdout.write(text),
    });
    cleanup.push(() => view.stop());

    if (tour) {
      if (!traefik) throw new Error('the tour needs Traefik: bash scripts/setup.sh builds it');
      await runTour({
        serviceUrl: service.url,
        adminToken,
        split: SPLIT,
        stable: 'main',
        canaryName: 'canary',
        canary: backends.get('canary') as DemoBackendHandle,
        view,
        checked: prometheusUrl !== undefined,
        say: (line) => console.log(line),
      });
      exit(0);
    }
  } catch (err) {
    console.error(`demo: ${(err as Error).message}`);
    exit(1);
  }
}

void main();
