/**
 * `npm run bench:rollback`: the blast radius of a bad canary that the rollout controller rolls back
 * on Traefik's own metrics. The same loop as test/e2e/rollout-through-traefik.test.ts: steady load
 * through a real Traefik (the kit's held polls), a real Prometheus scraping Traefik every second,
 * the service as `npm start` runs it judging the canary with the built-in success-rate check.
 *
 * Each case runs a healthy canary at its first step until an analysis has passed, then makes it
 * answer 500 to 40 % of its requests right after an analysis (the worst phase: a whole interval
 * before the next one looks) and measures the seconds until the last request reached it and the
 * user requests that failed in between. Cases: analysisInterval 1 s and 10 s × first step 5 % and
 * 20 %. Prints a Markdown table (docs/performance.md) and writes
 * bench/results/rollback-blast-radius-latest.json.
 *
 * Knobs: ROLLBACK_WORKERS (load loops, default 2), ROLLBACK_WINDOW (the check's rate window,
 * default 10s).
 */
import { BENCH_ADMIN_HEADERS, BENCH_ADMIN_TOKEN } from './lib/http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { startBackend, type BackendHandle } from '../scripts/lib/backend-server';
import { requirePrometheus, startPrometheus } from '../scripts/lib/prometheus-process';
import { freePort, waitUntil } from '../scripts/lib/ports';
import { startOwnRedisServer } from '../scripts/lib/redis-process';
import { startTraefik } from '../scripts/lib/traefik-process';
import { closeTraffic, routeOnce, steadyLoad } from '../scripts/lib/traffic';
import { sleep, startNodeChild } from '../scripts/lib/child-process';
import { ROOT } from '../scripts/lib/build-dist';

const WORKERS = Number(process.env.ROLLBACK_WORKERS ?? 2);
const WINDOW = process.env.ROLLBACK_WINDOW ?? '10s';
const ERROR_RATE = 0.4;
const CASES = [
  { intervalS: 1, firstStep: 5 },
  { intervalS: 1, firstStep: 20 },
  { intervalS: 10, firstStep: 5 },
  { intervalS: 10, firstStep: 20 },
];

interface Row {
  intervalS: number;
  firstStep: number;
  /** From the canary turning bad to the rollback written by the controller. */
  toRollbackS: number;
  /** From the canary turning bad to the last request that reached it. */
  toNoTrafficS: number;
  failed: number;
  total: number;
}

interface RolloutView {
  status: string;
  lastAnalysisAt: string | null;
  checks: { verdict: string }[];
  rollback: { at: string; check: string | null } | null;
}

interface SplitView {
  traefik: { applied: boolean; weights: Record<string, number> | null }[];
}

async function main(): Promise<void> {
  requirePrometheus();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-rollback-bench-'));
  const redis = await startOwnRedisServer();
  const pairs: Record<string, { main: BackendHandle; canary: BackendHandle }> = {};
  const splits: Record<string, unknown> = {};
  for (const c of CASES) {
    const name = `i${c.intervalS}-w${c.firstStep}`;
    const pair = { main: await startBackend('main'), canary: await startBackend('canary') };
    pairs[name] = pair;
    splits[name] = {
      stable: 'main',
      canary: 'canary',
      backends: { main: { servers: [pair.main.url] }, canary: { servers: [pair.canary.url] } },
      defaultWeights: { main: 100, canary: 0 },
      router: { rule: `Host(\`${name}\`)` },
      rollout: {
        steps: [c.firstStep, 100],
        bakeTime: '30m',
        analysisInterval: `${c.intervalS}s`,
        checks: [
          {
            name: 'success-rate',
            type: 'traefik',
            metric: 'success-rate',
            window: WINDOW,
            min: 99,
            minRequests: 10,
          },
        ],
      },
    };
  }
  const splitsFile = path.join(dir, 'splits.json');
  fs.writeFileSync(splitsFile, JSON.stringify({ splits }));

  // Traefik first (the service confirms against its API), polling a port the service binds next.
  const servicePort = await freePort();
  const traefik = await startTraefik({
    providerUrl: `http://127.0.0.1:${servicePort}/traefik`,
    // The kit's settings (traefik/traefik.compose.yml): held polls.
    watch: '25s',
    pollInterval: '250ms',
    pollTimeout: '30s',
    throttle: '1s',
    logLevel: 'ERROR',
    metrics: true,
  });
  const prom = await startPrometheus({
    targets: [new URL(traefik.metricsUrl as string).host],
    logLevel: 'error',
  });
  const service = await startNodeChild<{ url: string }>(
    path.join(__dirname, 'service-child.js'),
    {
      PORT: String(servicePort),
      REDIS_URL: redis.url,
      KEY_PREFIX: 'rollback-bench:',
      LOG_LEVEL: 'silent',
      BENCH_SPLITS_JSON: splitsFile,
      ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      PROMETHEUS_URL: prom.url,
      TRAEFIK_API_URLS: traefik.apiUrl,
      TRAEFIK_POLL_INTERVAL_MS: '250',
    },
    60_000,
  );
  const api = async <T>(method: 'GET' | 'POST', p: string, body?: unknown): Promise<T> => {
    const res = await request(`${service.ready.url}${p}`, {
      method,
      headers: BENCH_ADMIN_HEADERS,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const json = (await res.body.json()) as T;
    if (res.statusCode >= 300)
      throw new Error(`${method} ${p}: ${res.statusCode} ${JSON.stringify(json)}`);
    return json;
  };

  const rows: Row[] = [];
  try {
    for (const c of CASES) {
      const name = `i${c.intervalS}-w${c.firstStep}`;
      const { canary } = pairs[name];
      await waitUntil(
        `Traefik to route ${name}`,
        async () => (await routeOnce(traefik.webUrl, name)) === 'main',
        60_000,
        200,
      );
      const load = steadyLoad(traefik.webUrl, name, { workers: WORKERS, limitMs: 120_000 });
      try {
        await api('POST', `/api/v1/splits/${name}/rollout`, {});
        // Healthy until an analysis has passed at the first step.
        let passedAt = '';
        await waitUntil(
          `${name}: a passing analysis`,
          async () => {
            const r = await api<RolloutView>('GET', `/api/v1/splits/${name}/rollout`);
            if (r.status !== 'progressing') throw new Error(`${name} is ${r.status}`);
            passedAt = r.lastAnalysisAt ?? '';
            return r.checks[0]?.verdict === 'pass';
          },
          60_000,
          100,
        );
        // Right after the next analysis: the bad canary waits a whole interval to be looked at.
        await waitUntil(
          `${name}: the next analysis`,
          async () =>
            (await api<RolloutView>('GET', `/api/v1/splits/${name}/rollout`)).lastAnalysisAt !==
            passedAt,
          30_000,
          20,
        );
        const before = load.snapshot();
        const badAt = Date.now();
        canary.set({ errorRate: ERROR_RATE });
        let rolledBack: RolloutView | undefined;
        await waitUntil(
          `${name}: rolled back`,
          async () => {
            rolledBack = await api<RolloutView>('GET', `/api/v1/splits/${name}/rollout`);
            return rolledBack.status === 'rolled_back';
          },
          90_000,
          100,
        );
        await waitUntil(
          `${name}: Traefik to show the rollback`,
          async () => {
            const [view] = (await api<SplitView>('GET', `/api/v1/splits/${name}`)).traefik;
            return JSON.stringify(view?.weights) === JSON.stringify({ [`${name}-main`]: 100 });
          },
          30_000,
          50,
        );
        // Let the last requests already inside the canary finish, then read its last request.
        await sleep(1_000);
        const after = load.snapshot();
        const row: Row = {
          ...c,
          toRollbackS: (Date.parse(rolledBack?.rollback?.at as string) - badAt) / 1000,
          toNoTrafficS: ((canary.lastRequestAt() as number) - badAt) / 1000,
          failed: after.failed - before.failed,
          total: after.total - before.total,
        };
        rows.push(row);
        console.log(
          `interval ${c.intervalS}s, first step ${c.firstStep} %: rollback after ${row.toRollbackS.toFixed(1)} s, ` +
            `no canary traffic after ${row.toNoTrafficS.toFixed(1)} s, ${row.failed} of ${row.total} requests failed`,
        );
      } finally {
        await load.stop();
      }
    }
  } finally {
    await traefik.stop();
    await service.stop();
    await prom.stop();
    for (const p of Object.values(pairs)) {
      await p.main.stop();
      await p.canary.stop();
    }
    await redis.stop();
    await closeTraffic();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const table = [
    `A canary turning bad (${ERROR_RATE * 100} % 500s) right after a passing analysis, built-in ` +
      `success-rate check (min 99, window ${WINDOW}), Prometheus scraping Traefik every 1 s, ` +
      `${WORKERS} load workers:`,
    '',
    '| analysisInterval | first step | bad → rollback written | bad → last request to the canary | failed user requests |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.intervalS} s | ${r.firstStep} % | ${r.toRollbackS.toFixed(1)} s | ${r.toNoTrafficS.toFixed(1)} s | ` +
        `${r.failed.toLocaleString('en')} of ${r.total.toLocaleString('en')} (${((100 * r.failed) / r.total).toFixed(2)} %) |`,
    ),
  ].join('\n');
  console.log(`\n${table}`);
  const out = path.join(ROOT, 'bench/results/rollback-blast-radius-latest.json');
  fs.writeFileSync(
    out,
    `${JSON.stringify({ at: new Date().toISOString(), workers: WORKERS, window: WINDOW, errorRate: ERROR_RATE, rows }, null, 2)}\n`,
  );
  console.log(`\nwritten to ${path.relative(ROOT, out)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
