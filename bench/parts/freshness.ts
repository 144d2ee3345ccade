import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { BENCH_ADMIN_HEADERS, request } from '../lib/http';
import { sleep } from '../../scripts/lib/child-process';
import { splitName } from '../lib/splits';
import { round, summarize, type Summary } from '../lib/stats';

export type WriteKind = 'api' | 'hset';

export interface FreshnessResult {
  splits: number;
  kind: WriteKind;
  /** Write to first GET /traefik whose body holds the new weight, in ms. */
  latency: Summary;
  /** For API writes: how long the POST itself took to answer (it refreshes before it answers). */
  apiAnswer?: Summary;
  timeouts: number;
  /** GETs sent while waiting (304s included), per write. */
  getsPerWrite: number;
  /**
   * Reads of every split's hash (Redis HGETALL calls / splits) per write, the 1 s resyncs
   * included; `seconds` says how many of those there were room for.
   */
  fullReadsPerWrite: number;
  seconds: number;
  target: number;
  met: boolean;
}

export interface FreshnessOptions {
  writes: number;
  perWriteTimeoutMs: number;
  /** A random pause in [min, max] ms between writes. */
  pauseMs: [number, number];
  /** Hard cap on the whole series. */
  budgetMs: number;
}

const writeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/**
 * Writes new weights to random splits, one at a time, and polls GET /traefik back to back (with
 * If-None-Match, so an unchanged body costs a 304) until a body carries the new weight.
 */
export async function measureFreshness(context: {
  serviceUrl: string;
  redis: Redis;
  keyPrefix: string;
  splits: number;
  /** The canary percent every split holds now. */
  current: Map<string, number>;
  kind: WriteKind;
  options: FreshnessOptions;
  target: number;
}): Promise<FreshnessResult> {
  const { serviceUrl, redis, keyPrefix, splits, current, kind, options } = context;
  const latencies: number[] = [];
  const answers: number[] = [];
  let timeouts = 0;
  let gets = 0;
  let etag = String((await request(`${serviceUrl}/traefik`)).headers.etag);
  const hgetallBefore = await hgetallCalls(redis);
  const started = Date.now();
  for (let i = 0; i < options.writes && Date.now() - started < options.budgetMs; i++) {
    const split = splitName(Math.floor(Math.random() * splits));
    const before = current.get(split) ?? 0;
    let percent = 1 + Math.floor(Math.random() * 99);
    if (percent === before) percent = (percent % 99) + 1;
    const expect = Buffer.from(`{"name":"${split}-canary","weight":${percent}}`);

    const t0 = performance.now();
    const write: Promise<number> =
      kind === 'api'
        ? request(`${serviceUrl}/api/v1/splits/${split}/scale`, {
            method: 'POST',
            headers: BENCH_ADMIN_HEADERS,
            body: JSON.stringify({ percent, reason: 'bench' }),
            agent: writeAgent,
          }).then((res) => {
            if (res.status !== 200) {
              throw new Error(`scale ${split} answered ${res.status}: ${res.body.toString()}`);
            }
            return performance.now() - t0;
          })
        : redis
            .hset(
              `${keyPrefix}weights:${split}`,
              'canary',
              String(percent),
              'main',
              String(100 - percent),
            )
            .then(() => performance.now() - t0);
    // Polling starts with the write, not after it: the time is the first GET that serves it.
    const deadline = t0 + options.perWriteTimeoutMs;
    let served: number | undefined;
    while (served === undefined && performance.now() < deadline) {
      const res = await request(`${serviceUrl}/traefik`, { headers: { 'if-none-match': etag } });
      gets++;
      if (res.status === 200) {
        etag = String(res.headers.etag);
        if (res.body.includes(expect)) served = performance.now() - t0;
      }
    }
    const answered = await write;
    current.set(split, percent);
    if (served === undefined) timeouts++;
    else latencies.push(served);
    if (kind === 'api') answers.push(answered);
    const [lo, hi] = options.pauseMs;
    await sleep(lo + Math.random() * (hi - lo));
  }
  const seconds = (Date.now() - started) / 1000;
  const fullReads = (await hgetallCalls(redis)) - hgetallBefore;
  const latency = summarize(latencies);
  const written = latencies.length + timeouts;
  return {
    splits,
    kind,
    latency,
    ...(kind === 'api' && { apiAnswer: summarize(answers) }),
    timeouts,
    getsPerWrite: round(gets / Math.max(1, written), 1),
    fullReadsPerWrite: round(fullReads / splits / Math.max(1, written), 2),
    seconds: round(seconds, 1),
    target: context.target,
    met: timeouts === 0 && latency.n >= options.writes && latency.p99 <= context.target,
  };
}

/** HGETALL calls Redis has served so far (INFO commandstats): the service's reads of weights. */
async function hgetallCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/^cmdstat_hgetall:calls=(\d+)/m.exec(info)?.[1] ?? 0);
}
