import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCheck } from '../../src/rollout/analysis/check-runner';
import { createRolloutPlanSchema, type RolloutCheck } from '../../src/config/rollout-plan-schema';
import { PrometheusClient } from '../../src/rollout/analysis/prometheus-client';
import { PrometheusError } from '../../src/rollout/analysis/prometheus-error';
import { loadSplitsFile } from '../../src/config/splits';
import path from 'node:path';
import { freePort } from '../../scripts/lib/ports';
import { p95Query, requestCountQuery } from '../helpers/council-metrics';
import { startMetricsApp, type MetricsAppHandle } from '../helpers/metrics-app';
import type { PrometheusHandle } from '../../scripts/lib/prometheus-process';
import { startScrapedExporter, type ExporterUnderPrometheus } from '../helpers/scraped-exporter';

const P95 = (variant: string): string => p95Query(variant);

/** Checks as splits.yaml would give them. */
function checks(list: unknown[]): RolloutCheck[] {
  return createRolloutPlanSchema(() => ({})).parse({ steps: [50], bakeTime: '1s', checks: list })
    .checks;
}

async function withServer(
  handler: http.RequestListener,
  run: (url: string) => Promise<void>,
): Promise<void> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

async function failureOf(p: Promise<unknown>): Promise<PrometheusError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PrometheusError) return err;
    throw err;
  }
  throw new Error('expected a PrometheusError');
}

describe('Prometheus client and checks against a real Prometheus', () => {
  let scraped: ExporterUnderPrometheus<MetricsAppHandle>;
  let prom: PrometheusHandle;
  let client: PrometheusClient;

  beforeAll(async () => {
    scraped = await startScrapedExporter(
      () =>
        startMetricsApp({
          main: { rps: 40, latency: 0.2 },
          canary: { rps: 40, latency: 0.9, errorRatio: 0.05 },
        }),
      // Five scrapes inside the 5s rate windows: rates are then steady, not extrapolated.
      'count_over_time(mistral_tokens_total{variant="main"}[5s]) >= 5',
    );
    prom = scraped.prometheus;
    client = new PrometheusClient({ url: prom.url, timeoutMs: 2_000 });
  }, 40_000);

  afterAll(async () => {
    await client?.close();
    await scraped?.stop();
  });

  test('when a query returns a vector, then each series comes back with its labels and value', async () => {
    const samples = await client.query('sum by (variant) (rate(mistral_tokens_total[5s]))');
    const byVariant = Object.fromEntries(samples.map((s) => [s.labels.variant, s.value]));
    expect(Object.keys(byVariant).sort()).toEqual(['canary', 'main']);
    // 40 requests/s × 10 tokens each.
    expect(byVariant.canary).toBeGreaterThan(300);
    expect(byVariant.canary).toBeLessThan(500);
  });

  test('when the timeout is not a whole number of seconds, then Prometheus still accepts the query', async () => {
    const quick = new PrometheusClient({ url: prom.url, timeoutMs: 750 });
    const samples = await quick.query('vector(1)');
    await quick.close();
    expect(samples).toEqual([{ labels: {}, value: 1 }]);
  });

  test('when a query is a scalar or yields NaN and Inf, then they are numbers', async () => {
    expect(await client.query('scalar(vector(2.5))')).toEqual([{ labels: {}, value: 2.5 }]);
    expect((await client.query('vector(0) / 0'))[0].value).toBeNaN();
    expect((await client.query('vector(1) / 0'))[0].value).toBe(Infinity);
  });

  test('when the PromQL is invalid, then the error is PROM_QUERY_ERROR with Prometheus’s reason', async () => {
    const err = await failureOf(client.query('sum(rate(x[5s])'));
    expect(err.code).toBe('PROM_QUERY_ERROR');
    expect(err.message).toMatch(/bad_data/);
  });

  test('when a query returns a range vector, then the error says to wrap it', async () => {
    const err = await failureOf(client.query('mistral_tokens_total[5s]'));
    expect(err.code).toBe('PROM_QUERY_ERROR');
    expect(err.message).toContain('returned a matrix');
  });

  test('when nothing listens, then the error is PROM_UNREACHABLE', async () => {
    const dead = new PrometheusClient({
      url: `http://127.0.0.1:${await freePort()}`,
      timeoutMs: 1_000,
    });
    const err = await failureOf(dead.query('up'));
    await dead.close();
    expect(err.code).toBe('PROM_UNREACHABLE');
    expect(err.message).toContain('PROMETHEUS_URL');
  });

  test('when the server does not answer in time, then the error is PROM_TIMEOUT within the timeout', async () => {
    await withServer(
      () => {
        // never answers
      },
      async (url) => {
        const slow = new PrometheusClient({ url, timeoutMs: 300 });
        const started = Date.now();
        const err = await failureOf(slow.query('up'));
        const took = Date.now() - started;
        await slow.close();
        expect(err.code).toBe('PROM_TIMEOUT');
        expect(took).toBeLessThan(2_000);
      },
    );
  });

  test('when the answer is not the API’s JSON, then the error is PROM_BAD_RESPONSE', async () => {
    await withServer(
      (_req, res) =>
        res.writeHead(502, { 'Content-Type': 'text/html' }).end('<html>bad gateway</html>'),
      async (url) => {
        const proxy = new PrometheusClient({ url, timeoutMs: 1_000 });
        const err = await failureOf(proxy.query('up'));
        await proxy.close();
        expect(err.code).toBe('PROM_BAD_RESPONSE');
        expect(err.message).toContain('HTTP 502');
      },
    );
  });

  describe('runCheck', () => {
    const variants = { stable: 'main', canary: 'canary' };
    /** The canary's p95 against 1.2 × the stable's, judged from `min` requests of each on. */
    const p95VsStableCheck = (name: string, min: number) => ({
      name,
      type: 'comparison',
      query: P95('{{variant}}'),
      factor: 1.2,
      minSamples: { query: requestCountQuery('{{variant}}'), min },
    });

    test('when the canary p95 is above the threshold, then the observation carries value and threshold', async () => {
      const [check] = checks([
        { name: 'p95', type: 'threshold', query: P95('canary'), comparator: '>', threshold: 0.7 },
      ]);
      const obs = await runCheck(check, client, Date.now(), variants);
      expect(obs.kind).toBe('value');
      if (obs.kind !== 'value') return;
      // Every canary request takes 0.9 s: the p95 lies in the (0.7, 1] bucket.
      expect(obs.value).toBeGreaterThan(0.7);
      expect(obs.value).toBeLessThanOrEqual(1);
      expect(obs.threshold).toBe(0.7);
    });

    test('when the error ratio query runs, then it is the ratio the app produces', async () => {
      const [check] = checks([
        {
          name: 'errors',
          type: 'threshold',
          query:
            '(sum(rate(mistral_errors_total{variant="canary"}[5s])) or vector(0)) / sum(rate(mistral_requests_total{variant="canary"}[5s]))',
          comparator: '>',
          threshold: 0.02,
        },
      ]);
      const obs = await runCheck(check, client, Date.now(), variants);
      expect(obs).toMatchObject({ kind: 'value', threshold: 0.02 });
      // Failures are whole calls (one in twenty): over a 5s window the ratio is 0.05 give or take one.
      if (obs.kind === 'value') expect(obs.value).toBeCloseTo(0.05, 1);
    });

    test('when the example plan’s checks run on the guide’s metrics, then the error ratio is failed calls over calls, and a stable without errors reads 0', async () => {
      const saved = process.env.SLACK_WEBHOOK_URL;
      process.env.SLACK_WEBHOOK_URL = 'https://hooks.slack.example/services/T0/B0/abc';
      const plan = loadSplitsFile(
        path.join(__dirname, '../../src/rollout/example-plan.yaml'),
      ).byName.get('council')?.rollout;
      if (saved === undefined) delete process.env.SLACK_WEBHOOK_URL;
      else process.env.SLACK_WEBHOOK_URL = saved;
      const ratio = plan?.checks.find((c) => c.name === 'mistral-error-ratio');
      if (!ratio || ratio.type !== 'threshold') throw new Error('no mistral-error-ratio check');
      // 5 % of the canary's calls fail: above the guide's 2 %.
      const canary = await runCheck(ratio, client, Date.now(), variants);
      expect(canary).toMatchObject({ kind: 'value', threshold: 0.02 });
      if (canary.kind === 'value') expect(canary.value).toBeCloseTo(0.05, 2);
      // The stable never failed a call: no error series at all, and the ratio is 0, not no data.
      const stable = await runCheck(
        { ...ratio, query: ratio.query.replace(/variant="canary"/g, 'variant="main"') },
        client,
        Date.now(),
        variants,
      );
      expect(stable).toMatchObject({ kind: 'value', value: 0 });
      // Cost is compared per request with the stable's, not as the whole council's spend.
      const cost = plan?.checks.find((c) => c.name === 'cost-per-request');
      expect(cost?.type).toBe('comparison');
      expect(cost?.type === 'comparison' && cost.query).toContain('variant="{{variant}}"');
    });

    test('when a series does not exist, then the observation is no-data', async () => {
      const [check] = checks([
        {
          name: 'gpu-temp',
          type: 'threshold',
          query: 'max(swarm_gpu_temperature_celsius)',
          comparator: '>',
          threshold: 90,
        },
      ]);
      expect(await runCheck(check, client, Date.now(), variants)).toMatchObject({
        kind: 'no-data',
      });
    });

    test('when comparing canary with stable, then the threshold is factor × the stable value', async () => {
      const [check] = checks([p95VsStableCheck('p95-vs-stable', 10)]);
      const obs = await runCheck(check, client, Date.now(), variants);
      expect(obs.kind).toBe('value');
      if (obs.kind !== 'value' || obs.stable === undefined) throw new Error(JSON.stringify(obs));
      expect(obs.stable).toBeGreaterThan(0.1);
      expect(obs.stable).toBeLessThanOrEqual(0.25);
      expect(obs.threshold).toBeCloseTo(1.2 * obs.stable, 10);
      expect(obs.value).toBeGreaterThan(0.7);
    });

    test('when the sample count is below the minimum, then the observation is too-few-samples', async () => {
      const [check] = checks([p95VsStableCheck('cmp', 1_000_000)]);
      const obs = await runCheck(check, client, Date.now(), variants);
      expect(obs).toMatchObject({ kind: 'too-few-samples', min: 1_000_000 });
      if (obs.kind === 'too-few-samples') expect(obs.samples).toBeGreaterThan(10);
    });

    test('when the query fails, then the observation is an error with the stable code', async () => {
      const [check] = checks([
        { name: 'bad', type: 'threshold', query: 'sum(', comparator: '>', threshold: 1 },
      ]);
      expect(await runCheck(check, client, Date.now(), variants)).toMatchObject({
        kind: 'error',
        code: 'PROM_QUERY_ERROR',
      });
    });
  });
});
