/**
 * The whole loop with nothing instrumented but Traefik: steady load through the real Traefik, its
 * own per-service metrics scraped every second by a real Prometheus, the built service judging the
 * canary with the built-in `type: traefik` checks, and the weights it writes routed by that same
 * Traefik. Each scenario has its own split, backends and host, so their counters never mix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { adminApiRequest } from '../helpers/admin-api-request';
import { startBackend, type BackendHandle } from '../../scripts/lib/backend-server';
import { waitUntil } from '../../scripts/lib/ports';
import { startPrometheus, type PrometheusHandle } from '../../scripts/lib/prometheus-process';
import {
  startRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import type { ServiceProcess } from '../helpers/service';
import { routedCouncil, writeSplitsFile } from '../helpers/splits-file';
import type { TraefikHandle } from '../../scripts/lib/traefik-process';
import {
  closeTraffic,
  routeOnce,
  steadyLoad,
  type SteadyLoad,
  type Tally,
} from '../../scripts/lib/traffic';
import { sleep } from '../../scripts/lib/child-process';
import { waitUntilRouted, waitUntilTraefikShows } from '../helpers/routing-probe';
import { stopInOrder } from '../helpers/stop-in-order';
import { startTraefikThenService } from '../helpers/traefik-then-service';

jest.setTimeout(60_000);

const PROVIDER_TOKEN = 'e2e-provider-token-rollout-0123456789';

const DASHBOARD = path.join(
  __dirname,
  '../../compose/grafana/dashboards/grafana-canary-dashboard.json',
);

/** The kit dashboard's query of a panel, for one split (Grafana's `$split`). */
function panelQuery(title: string, split: string): string {
  const { panels } = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
  };
  const expr = panels.find((p) => p.title === title)?.targets?.[0]?.expr;
  if (expr === undefined) throw new Error(`no panel "${title}" in ${DASHBOARD}`);
  return expr.replace(/\$split/g, split);
}

const successRate = (extra: Record<string, unknown> = {}) => ({
  name: 'success-rate',
  type: 'traefik',
  metric: 'success-rate',
  window: '5s',
  min: 99,
  minRequests: 10,
  ...extra,
});
const latency = (extra: Record<string, unknown> = {}) => ({
  name: 'latency',
  type: 'traefik',
  metric: 'latency',
  quantile: 0.99,
  window: '5s',
  max: '500ms',
  minRequests: 5,
  ...extra,
});

/** Each scenario's plan; every split is `<name>` with backends main and canary. */
const PLANS: Record<string, Record<string, unknown>> = {
  bad: { steps: [5, 50, 100], bakeTime: '60s', checks: [successRate()] },
  slow: { steps: [20, 100], bakeTime: '60s', checks: [latency()] },
  healthy: {
    // The first step waits for Traefik's first canary series to reach Prometheus: only time in
    // which every check had enough samples bakes a step, and a step still short of samples when
    // its bake time has passed pauses.
    steps: [{ percent: 10, bakeTime: '12s' }, 50, 100],
    bakeTime: '3s',
    checks: [successRate({ minRequests: 5 }), latency({ quantile: 0.95, minRequests: 5 })],
  },
  quiet: { steps: [10, 100], bakeTime: '4s', checks: [successRate({ minRequests: 200 })] },
};

/**
 * Once Traefik shows `left`'s weight at 0: waits `settleMs` for the requests it had already sent
 * there (they may still be answered), then watches the load for `windowMs`. `reached` is what
 * `left` had received when the window opened; `start` and `end` are the load's counts at either
 * end of it.
 */
async function watchAfterSettling(
  load: SteadyLoad,
  left: BackendHandle,
  settleMs: number,
  windowMs: number,
): Promise<{ reached: number; start: Tally; end: Tally }> {
  await sleep(settleMs);
  const reached = left.requests();
  const start = load.snapshot();
  await sleep(windowMs);
  return { reached, start, end: load.snapshot() };
}

interface RolloutView {
  status: string;
  step: number;
  canaryPercent: number;
  pausedBy: string | null;
  applied: boolean;
  startedAt: string;
  checks: {
    name: string;
    query: string | null;
    verdict: string;
    value: number | string | null;
    reason: string;
  }[];
  rollback: { trigger: string; at: string; check: string | null; value: unknown } | null;
}

describe('a rollout judged by Traefik’s own metrics, through a real Traefik and Prometheus', () => {
  let redis: RedisServerHandle;
  let admin: Redis;
  let traefik: TraefikHandle;
  let prom: PrometheusHandle;
  let service: ServiceProcess;
  let splitsFile: ReturnType<typeof writeSplitsFile>;
  const backends: Record<string, { main: BackendHandle; canary: BackendHandle }> = {};
  const prefix = uniquePrefix('e2e-rollout-traefik');

  const api = <T>(method: 'GET' | 'POST', p: string, body?: unknown) =>
    adminApiRequest<T>(service.url, method, p, body);
  const rollout = async (split: string) =>
    (await api<RolloutView>('GET', `/api/v1/splits/${split}/rollout`)).body;
  const weightsInRedis = (split: string) => admin.hgetall(`${prefix}weights:${split}`);

  async function waitForRollout(
    split: string,
    done: (r: RolloutView) => boolean,
    what: string,
    timeoutMs = 40_000,
  ): Promise<RolloutView> {
    let last: RolloutView | undefined;
    try {
      await waitUntil(
        `${split}: ${what}`,
        async () => {
          last = await rollout(split);
          return done(last);
        },
        timeoutMs,
        100,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last)}`);
    }
    return last as RolloutView;
  }

  /**
   * Until Traefik's API shows exactly these children in the split's weighted service: the weights
   * Traefik routes by, whatever the service serves right now.
   */
  const waitTraefikShows = (split: string, children: Record<string, number>) =>
    waitUntilTraefikShows(
      traefik.apiUrl,
      split,
      `show ${split} as ${JSON.stringify(children)}`,
      (shown) =>
        JSON.stringify(Object.fromEntries((shown ?? []).map((c) => [c.name, c.weight]))) ===
        JSON.stringify(children),
      { intervalMs: 50 },
    );

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url);
    const splits: Record<string, unknown> = {};
    for (const name of Object.keys(PLANS)) {
      const pair = {
        main: await startBackend('main'),
        canary: await startBackend('canary'),
      };
      backends[name] = pair;
      splits[name] = routedCouncil(
        pair.main,
        pair.canary,
        {
          defaultWeights: { main: 100, canary: 0 },
          rollout: { analysisInterval: '1s', ...PLANS[name] },
        },
        { canaryVersion: '2.0.0', host: `${name}.localhost` },
      );
    }
    splitsFile = writeSplitsFile({ splits });
    ({ traefik, service } = await startTraefikThenService(
      {
        providerToken: PROVIDER_TOKEN,
        pollInterval: '1s',
        throttle: '200ms',
        logLevel: 'INFO',
        metrics: true,
      },
      // Prometheus scrapes this Traefik's metrics, and the service judges the canary by them.
      async (started) => {
        prom = await startPrometheus({ targets: [new URL(started.metricsUrl as string).host] });
        return {
          REDIS_URL: redis.url,
          KEY_PREFIX: prefix,
          SPLITS_FILE: splitsFile.file,
          PROMETHEUS_URL: prom.url,
          TRAEFIK_API_URLS: started.apiUrl,
          TRAEFIK_POLL_INTERVAL_MS: '250',
        };
      },
    ));
    for (const name of Object.keys(PLANS)) {
      await waitUntilRouted(traefik.webUrl, `${name}.localhost`, { backend: 'main' });
    }
    // Traefik's service series exist once it has routed a request: Prometheus scrapes them.
    await prom.waitForData('traefik_service_requests_total{service="bad-main@http"}', 20_000);
  }, 120_000);

  afterAll(() =>
    stopInOrder(
      traefik,
      service,
      prom,
      ...Object.values(backends).flatMap((pair) => [pair.main, pair.canary]),
      () => admin?.disconnect(),
      redis,
      closeTraffic,
      splitsFile?.remove,
    ),
  );

  test('when the canary answers 500 to 40 % of requests, then success-rate rolls it back and Traefik sends it nothing more', async () => {
    const { canary } = backends.bad;
    canary.set({ errorRate: 0.4 });
    const load = steadyLoad(traefik.webUrl, 'bad.localhost', { workers: 4, limitMs: 50_000 });
    try {
      await sleep(500);
      const before = load.snapshot();
      const started = await api<RolloutView>('POST', '/api/v1/splits/bad/rollout', {
        version: '2.0.0',
      });
      expect(started.status).toBe(202);
      const startedAt = Date.parse(started.body.startedAt);

      const done = await waitForRollout('bad', (r) => r.status === 'rolled_back', 'rolled back');
      expect(done.rollback).toMatchObject({ trigger: 'analysis', check: 'success-rate' });
      expect(Number(done.rollback?.value)).toBeLessThan(99);
      const check = done.checks.find((c) => c.name === 'success-rate');
      expect(check?.query).toBe(
        '100 * sum(rate(traefik_service_requests_total{service="bad-canary@http",code!~"5.."}[5s]))' +
          ' / sum(rate(traefik_service_requests_total{service="bad-canary@http"}[5s]))',
      );
      expect(check?.verdict).toBe('fail');
      expect(await weightsInRedis('bad')).toEqual({ main: '100', canary: '0' });

      await waitTraefikShows('bad', { 'bad-main': 100 });
      const atShown = canary.requests();
      // With the canary's weight at 0 Traefik leaves it out of the weighted service: under the
      // same load, not one more request reaches it.
      const {
        reached,
        start: atApplied,
        end: after,
      } = await watchAfterSettling(load, canary, 500, 3_000);
      expect(after.total - atApplied.total).toBeGreaterThan(50);
      expect(canary.requests()).toBe(reached);
      expect(after.failed).toBe(atApplied.failed);

      const rolledBackAt = Date.parse(done.rollback?.at as string);
      const lastCanary = canary.lastRequestAt() as number;
      const failed = atApplied.failed - before.failed;
      console.log(
        `bad canary (40 % 500s, first step 5 %, analysisInterval 1s): start → rollback ` +
          `${((rolledBackAt - startedAt) / 1000).toFixed(1)} s, start → last request to the ` +
          `canary ${((lastCanary - startedAt) / 1000).toFixed(1)} s; ${failed} of ` +
          `${atApplied.total - before.total} user requests failed; ${reached - atShown} canary ` +
          'requests in flight when Traefik showed the rollback',
      );
      // Every failed user request was one of the canary's 500s: 2 of every 5 it received.
      expect(failed).toBe(canary.errors());
      expect(canary.errors()).toBe(Math.floor(canary.requests() * 0.4 + 1e-9));
      expect(failed).toBeGreaterThan(0);
      expect(reached).toBeGreaterThanOrEqual(10);
    } finally {
      await load.stop();
    }
  });

  test('when the canary adds 800 ms to every answer, then latency rolls it back', async () => {
    const { canary } = backends.slow;
    canary.set({ delayMs: 800 });
    // A request to the slow canary holds its worker for 800 ms: enough workers keep the canary's
    // request count in the window above minRequests.
    const load = steadyLoad(traefik.webUrl, 'slow.localhost', { workers: 8, limitMs: 50_000 });
    try {
      const started = await api<RolloutView>('POST', '/api/v1/splits/slow/rollout', {});
      expect(started.status).toBe(202);
      const done = await waitForRollout('slow', (r) => r.status === 'rolled_back', 'rolled back');
      expect(done.rollback).toMatchObject({ trigger: 'analysis', check: 'latency' });
      // Traefik's default buckets put 800 ms between 0.3 s and 1.2 s: p99 interpolates above 0.5 s.
      expect(Number(done.rollback?.value)).toBeGreaterThan(0.5);
      expect(Number(done.rollback?.value)).toBeLessThanOrEqual(1.2);
      expect(done.checks[0].query).toBe(
        'histogram_quantile(0.99, sum by (le) (rate(traefik_service_request_duration_seconds_bucket{service="slow-canary@http"}[5s])))',
      );
      expect(await weightsInRedis('slow')).toEqual({ main: '100', canary: '0' });
      await waitTraefikShows('slow', { 'slow-main': 100 });
      // Requests already inside the slow canary may still finish: count from a second later.
      const { reached } = await watchAfterSettling(load, canary, 1_000, 2_000);
      expect(canary.requests()).toBe(reached);
    } finally {
      await load.stop();
    }
  });

  test('when the canary is healthy, then it is promoted through every step to completed and takes all traffic', async () => {
    const { main, canary } = backends.healthy;
    const load = steadyLoad(traefik.webUrl, 'healthy.localhost', { workers: 4, limitMs: 55_000 });
    try {
      const started = await api<RolloutView>('POST', '/api/v1/splits/healthy/rollout', {});
      expect(started.status).toBe(202);
      const seen = new Set<number>();
      const done = await waitForRollout(
        'healthy',
        (r) => {
          seen.add(r.canaryPercent);
          return r.status === 'completed' || r.status === 'paused' || r.status === 'rolled_back';
        },
        'finished',
        50_000,
      );
      expect(done.status).toBe('completed');
      expect([...seen].filter((p) => [10, 50, 100].includes(p)).sort((a, b) => a - b)).toEqual([
        10, 50, 100,
      ]);
      expect(done.checks.map((c) => [c.name, c.verdict])).toEqual([
        ['success-rate', 'pass'],
        ['latency', 'pass'],
      ]);
      expect(await weightsInRedis('healthy')).toEqual({ main: '0', canary: '100' });
      await waitTraefikShows('healthy', { 'healthy-canary': 100 });
      const {
        reached: mainBefore,
        start: at,
        end: after,
      } = await watchAfterSettling(load, main, 500, 2_000);
      expect(after.total - at.total).toBeGreaterThan(50);
      expect(main.requests()).toBe(mainBefore);
      expect(after.byAnswer.canary - (at.byAnswer.canary ?? 0)).toBe(after.total - at.total);
      expect(after.failed).toBe(0);
      expect(canary.errors()).toBe(0);

      // The kit dashboard's canary-vs-stable panels, on what this Traefik measured.
      const byService = async (title: string) =>
        Object.fromEntries(
          (await prom.query(panelQuery(title, 'healthy'))).map((r) => [r.labels.service, r.value]),
        );
      const success = await byService('Success rate per backend (Traefik)');
      expect(success['healthy-canary@http']).toBeCloseTo(100, 6);
      expect(success['healthy-main@http']).toBeCloseTo(100, 6);
      const p95 = await byService('p95 latency per backend (Traefik)');
      expect(p95['healthy-canary@http']).toBeGreaterThan(0);
      expect(p95['healthy-canary@http']).toBeLessThan(0.5);
    } finally {
      await load.stop();
    }
  });

  test('when the canary gets fewer requests than minRequests, then the check is inconclusive and the rollout pauses without promoting', async () => {
    const { canary } = backends.quiet;
    // About 4 requests a second in all: the canary's 10 % is far below minRequests (200 in 5s).
    let running = true;
    const trickle = (async () => {
      while (running) {
        await routeOnce(traefik.webUrl, 'quiet.localhost');
        await sleep(250);
      }
    })();
    try {
      const started = await api<RolloutView>('POST', '/api/v1/splits/quiet/rollout', {});
      expect(started.status).toBe(202);
      const paused = await waitForRollout('quiet', (r) => r.status !== 'progressing', 'paused');
      expect(paused).toMatchObject({
        status: 'paused',
        pausedBy: 'inconclusive',
        step: 1,
        canaryPercent: 10,
      });
      expect(paused.checks[0].verdict).toBe('inconclusive');
      expect(paused.checks[0].reason).toMatch(/^too few samples: [\d.]+ < 200$/);
      expect(await weightsInRedis('quiet')).toEqual({ main: '90', canary: '10' });
      // Paused means it stays: a few analyses later it has neither promoted nor rolled back.
      await sleep(3_000);
      expect(await rollout('quiet')).toMatchObject({ status: 'paused', step: 1 });
      expect(await weightsInRedis('quiet')).toEqual({ main: '90', canary: '10' });
      expect(canary.requests()).toBeGreaterThan(0);
    } finally {
      running = false;
      await trickle;
    }
  });
});
