import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import type { Redis } from 'ioredis';
import { parseSplitsDocument } from '../../src/config/splits';
import { createLogger } from '../../src/log/logger';
import { WeightsStore } from '../../src/store/weights-store';
import { IncrementalSerializer } from '../../src/traefik/incremental-serializer';
import { render } from '../../src/traefik/render';
import { configEtag, serialize } from '../../src/traefik/serialize';
import { request } from '../lib/http';
import { generatedSplits, splitName } from '../lib/splits';
import { summarize, round, type Summary } from '../lib/stats';

export interface InProcessCost {
  splits: number;
  /**
   * What the service does when one split changes (ConfigProvider.apply + publish): re-render that
   * split's weighted service, join the document, hash the ETag.
   */
  perChangeMs: Summary;
  /** The document rebuilt from nothing (render + serialize): what every change cost before. */
  fullRenderMs: Summary;
  /** zlib.gzipSync of the body: paid once per change, by the first poll that accepts gzip. */
  gzipMs: Summary;
  /** WeightsStore.readAll(): the pipelined HGETALL of every split that each 1 s resync runs. */
  readAllMs: Summary;
  /** WeightsStore.read([split]): the targeted read a change notification runs. */
  readOneMs: Summary;
  bodyBytes: number;
  gzipBytes: number;
}

function time(iterations: number, fn: (i: number) => void): Summary {
  const out: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    fn(i);
    out.push(performance.now() - t);
  }
  return summarize(out);
}

async function timeAsync(iterations: number, fn: () => Promise<unknown>): Promise<Summary> {
  const out: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return summarize(out);
}

/** Times the per-change work in this process, with src's own code on the same generated splits. */
export async function measureInProcess(
  splitCount: number,
  iterations: number,
  redis: Redis,
  keyPrefix: string,
): Promise<InProcessCost> {
  const splits = parseSplitsDocument(generatedSplits(splitCount), 'bench splits');
  const served = new Map(splits.splits.map((s) => [s.name, { main: 90, canary: 10 }]));
  const serializer = new IncrementalSerializer(splits.splits);
  for (const [name, weights] of served) serializer.update(name, weights);
  const full = serialize(render(splits.splits, served)).json;
  if (!serializer.json().equals(full)) {
    throw new Error(
      'IncrementalSerializer and serialize(render()) disagree: the figures would too',
    );
  }
  // Warm the JIT the way a running service is warm.
  for (let i = 0; i < 3; i++) configEtag(serializer.json());
  const perChangeMs = time(iterations, (i) => {
    const canary = 1 + (i % 98);
    serializer.update(splitName(i % splitCount), { main: 100 - canary, canary });
    configEtag(serializer.json());
  });
  const fullRenderMs = time(Math.min(iterations, 10), () => {
    serialize(render(splits.splits, served));
  });
  const gzipMs = time(iterations, () => {
    zlib.gzipSync(full);
  });
  const store = new WeightsStore({ redis, keyPrefix, splits, log: createLogger('silent') });
  await store.readAll();
  const readAllMs = await timeAsync(iterations, () => store.readAll());
  const readOneMs = await timeAsync(iterations, () => store.read([splitName(0)]));
  return {
    splits: splitCount,
    perChangeMs,
    fullRenderMs,
    gzipMs,
    readAllMs,
    readOneMs,
    bodyBytes: full.length,
    gzipBytes: zlib.gzipSync(full).length,
  };
}

export interface ServiceHistogram {
  count: number;
  meanMs: number;
  /** Upper bound of the bucket that holds the median / the 99th percentile. */
  p50AtMostMs: number;
  p99AtMostMs: number;
}

/** Reads swarm_provider_render_duration_seconds from the service's own /metrics. */
export async function renderHistogram(serviceUrl: string): Promise<ServiceHistogram | undefined> {
  const text = (await request(`${serviceUrl}/metrics`)).body.toString();
  const name = 'swarm_provider_render_duration_seconds';
  const sum = Number(new RegExp(`^${name}_sum (\\S+)$`, 'm').exec(text)?.[1]);
  const count = Number(new RegExp(`^${name}_count (\\S+)$`, 'm').exec(text)?.[1]);
  if (!Number.isFinite(sum) || !Number.isFinite(count) || count === 0) return undefined;
  const buckets = [
    ...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm')),
  ].map((m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), n: Number(m[2]) }));
  const at = (q: number): number => (buckets.find((b) => b.n >= q * count)?.le ?? Infinity) * 1000;
  return {
    count,
    meanMs: round((sum / count) * 1000),
    p50AtMostMs: at(0.5),
    p99AtMostMs: at(0.99),
  };
}
