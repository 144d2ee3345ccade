import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { request } from '../lib/http';
import { startNodeChild } from '../../scripts/lib/child-process';
import { median, round, Samples, percentile } from '../lib/stats';

export type Variant = 'identity' | 'gzip';

export interface LoadRun {
  target: 'service' | 'baseline';
  /** 2xx answers per second over the run. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  non2xx: number;
}

export interface ServingResult {
  splits: number;
  variant: Variant;
  bytesOnWire: number;
  service: { rps: number; p50Ms: number; p99Ms: number };
  baseline: { rps: number; p50Ms: number; p99Ms: number };
  /** Median service throughput / median baseline throughput. */
  ratio: number;
  /** Lowest and highest ratio of a service run to the baseline run next to it: the noise. */
  ratioRange: [number, number];
  target: number;
  met: boolean;
  runs: LoadRun[];
}

export interface ServingOptions {
  connections: number;
  durationSec: number;
  runs: number;
  warmupSec: number;
}

const HEADERS: Record<Variant, Record<string, string>> = {
  identity: {},
  gzip: { 'accept-encoding': 'gzip' },
};

/** One autocannon run. Latencies are kept per response (autocannon's own histogram is 1 ms coarse). */
function load(
  url: string,
  headers: Record<string, string>,
  options: { connections: number; durationSec: number },
): Promise<Omit<LoadRun, 'target'>> {
  const latencies = new Samples();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: options.connections,
        duration: options.durationSec,
        headers,
        timeout: 10,
      },
      (err: Error | null, result: autocannon.Result) => {
        if (err) {
          reject(err);
          return;
        }
        const ok = result['2xx'];
        resolve({
          rps: round(ok / result.duration, 1),
          p50Ms: round(percentile(latencies.values(), 50)),
          p99Ms: round(percentile(latencies.values(), 99)),
          requests: ok,
          errors: result.errors,
          non2xx: result.non2xx,
        });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
}

/** Fetches GET /traefik as sent (no decompression), for one variant. */
async function fetchBytes(url: string, variant: Variant): Promise<Buffer> {
  const res = await request(`${url}/traefik`, { headers: HEADERS[variant] });
  if (res.status !== 200) throw new Error(`GET ${url}/traefik answered ${res.status}`);
  const encoded = res.headers['content-encoding'] === 'gzip';
  if (encoded !== (variant === 'gzip')) {
    throw new Error(
      `GET ${url}/traefik (${variant}) answered content-encoding ${String(res.headers['content-encoding'])}`,
    );
  }
  return res.body;
}

/**
 * GET /traefik under load against a bare node:http server answering the same bytes, for both
 * variants. Service and baseline runs alternate (S B, B S, ...) so a noisy moment hits both.
 */
export async function measureServing(
  serviceUrl: string,
  splits: number,
  target: number,
  options: ServingOptions,
  log: (line: string) => void,
): Promise<ServingResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-bench-baseline-'));
  const identity = await fetchBytes(serviceUrl, 'identity');
  const gzip = await fetchBytes(serviceUrl, 'gzip');
  fs.writeFileSync(path.join(dir, 'body'), identity);
  fs.writeFileSync(path.join(dir, 'body.gz'), gzip);
  const baseline = await startNodeChild<{ url: string }>(
    path.join(__dirname, '..', 'baseline-child.js'),
    { BENCH_BODY: path.join(dir, 'body'), BENCH_BODY_GZIP: path.join(dir, 'body.gz') },
    10_000,
  );
  const results: ServingResult[] = [];
  try {
    const baseUrl = baseline.ready.url;
    for (const variant of ['identity', 'gzip'] as const) {
      const expected = variant === 'gzip' ? gzip : identity;
      const served = await fetchBytes(baseUrl, variant);
      if (!served.equals(expected)) {
        throw new Error(`the baseline does not answer the service's bytes (${variant})`);
      }
      const targets = { service: `${serviceUrl}/traefik`, baseline: `${baseUrl}/traefik` };
      for (const which of ['service', 'baseline'] as const) {
        await load(targets[which], HEADERS[variant], {
          connections: options.connections,
          durationSec: options.warmupSec,
        });
      }
      const runs: LoadRun[] = [];
      for (let r = 0; r < options.runs; r++) {
        const order =
          r % 2 === 0 ? (['service', 'baseline'] as const) : (['baseline', 'service'] as const);
        for (const which of order) {
          const run = { target: which, ...(await load(targets[which], HEADERS[variant], options)) };
          runs.push(run);
          log(
            `  serving ${splits} splits ${variant} run ${r + 1}/${options.runs} ${which}: ` +
              `${run.rps} req/s p50 ${run.p50Ms} ms p99 ${run.p99Ms} ms` +
              (run.errors + run.non2xx > 0 ? ` (${run.errors} errors, ${run.non2xx} non-2xx)` : ''),
          );
        }
      }
      const of = (which: 'service' | 'baseline') => {
        const mine = runs.filter((r) => r.target === which);
        return {
          rps: round(median(mine.map((r) => r.rps)), 1),
          p50Ms: round(median(mine.map((r) => r.p50Ms))),
          p99Ms: round(median(mine.map((r) => r.p99Ms))),
        };
      };
      const service = of('service');
      const base = of('baseline');
      const ratio = round(service.rps / base.rps);
      const paired = runs
        .filter((x) => x.target === 'service')
        .map((x, i) => x.rps / runs.filter((y) => y.target === 'baseline')[i].rps);
      results.push({
        splits,
        variant,
        bytesOnWire: expected.length,
        service,
        baseline: base,
        ratio,
        ratioRange: [round(Math.min(...paired), 2), round(Math.max(...paired), 2)],
        target,
        met: ratio >= target,
        runs,
      });
    }
  } finally {
    await baseline.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
