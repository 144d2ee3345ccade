/**
 * `npm run bench`: serving cost, freshness, size, and routing through Traefik (ours next to
 * Traefik's own Redis provider). Writes bench/results/<date>.json and latest.json, and the tables
 * of docs/performance.md. Exits 1 only when it cannot run at all (no redis-server, say); a missed
 * target is a figure, and a part without its prerequisites is reported as skipped.
 *
 * Knobs for a quicker look (the committed figures use the defaults): BENCH_SIZES=10,1000,
 * BENCH_RUNS, BENCH_DURATION (s), BENCH_WRITES, BENCH_ROUTING_WRITES, BENCH_SKIP_ROUTING=1, and
 * BENCH_SERVICE_NODE_OPTIONS (NODE_OPTIONS for the service process only).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { BENCH_ADMIN_TOKEN, request } from './lib/http';
import { describeMachine } from './lib/machine';
import {
  MissingToolError,
  sleep,
  startNodeChild,
  type NodeChild,
} from '../scripts/lib/child-process';
import { cpuSecondsOf, memoryOf, waitQuiet } from './lib/proc';
import { startOwnRedisServer } from '../scripts/lib/redis-process';
import { splitName, generatedSplits } from './lib/splits';
import {
  resolveTraefikBinary,
  traefikMissingReason,
  traefikVersion,
} from '../scripts/lib/traefik-process';
import { measureFreshness } from './parts/freshness';
import { measureIdle, type IdleCost } from './parts/idle';
import { measureRouting, type RoutingResult } from './parts/routing';
import { measureServing } from './parts/serving';
import { measureInProcess, renderHistogram } from './parts/size';
import {
  renderTables,
  updateDocument,
  type BenchResults,
  type Outcome,
  type SizeResult,
} from './report';
import { SKELETON } from './skeleton';
import { ROOT } from '../scripts/lib/build-dist';

const HARD_LIMIT_MS = 20 * 60_000;

const int = (name: string, def: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? def : Number.parseInt(v, 10);
};

const settings = {
  sizes: (process.env.BENCH_SIZES ?? '10,1000,10000').split(',').map(Number),
  connections: 10,
  durationSec: int('BENCH_DURATION', 2),
  warmupSec: 1,
  runs: int('BENCH_RUNS', 5),
  writes: int('BENCH_WRITES', 200),
  renderIterations: 20,
  routingWrites: int('BENCH_ROUTING_WRITES', 24),
  routingBoundMs: 20_000,
  outageMs: 3_000,
  /** The idle window for the held-polls idle cost (60 s; shorter for a quick run). */
  idleSec: int('BENCH_IDLE_SEC', 60),
  idleSizes: (process.env.BENCH_IDLE_SIZES ?? '10,10000').split(',').map(Number),
};

const log = (line: string): void => console.log(line);

async function populate(redis: Redis, prefix: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += 1_000) {
    const p = redis.pipeline();
    for (let i = start; i < Math.min(count, start + 1_000); i++) {
      p.hset(`${prefix}weights:${splitName(i)}`, 'canary', '10', 'main', '90');
    }
    await p.exec();
  }
}

function startServiceChild(
  redisUrl: string,
  prefix: string,
  splitsFile: string,
): Promise<NodeChild<{ url: string }>> {
  return startNodeChild<{ url: string }>(
    path.join(__dirname, 'service-child.js'),
    {
      PORT: '0',
      REDIS_URL: redisUrl,
      KEY_PREFIX: prefix,
      ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
      BENCH_SPLITS_JSON: splitsFile,
      // The memory settings `npm start` and the Dockerfile use (docs/performance.md);
      // BENCH_SERVICE_NODE_OPTIONS replaces the heap cap for experiments.
      MALLOC_MMAP_THRESHOLD_: '131072',
      NODE_OPTIONS: process.env.BENCH_SERVICE_NODE_OPTIONS ?? '--max-old-space-size=160',
    },
    120_000,
    ['--expose-gc'],
  );
}

/** CPU share of one core a process uses over `ms`. */
async function cpuShare(pid: number, ms: number): Promise<number> {
  const before = cpuSecondsOf(pid);
  await sleep(ms);
  return (cpuSecondsOf(pid) - before) / (ms / 1000);
}

interface HeapReport {
  memory: NodeJS.MemoryUsage;
  afterGc: NodeJS.MemoryUsage;
}

/** The service child's process.memoryUsage() before and after a full GC, asked over IPC. */
function askMemory(service: NodeChild<unknown>): Promise<HeapReport | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 5_000);
    service.child.once('message', (m: HeapReport) => {
      clearTimeout(timer);
      resolve(m);
    });
    service.child.send('memory');
  });
}

async function benchSize(
  redisUrl: string,
  redis: Redis,
  count: number,
  dir: string,
): Promise<SizeResult> {
  const prefix = `bench:${count}:${Date.now().toString(36)}:`;
  await populate(redis, prefix, count);
  const splitsFile = path.join(dir, `splits-${count}.json`);
  fs.writeFileSync(splitsFile, JSON.stringify(generatedSplits(count)));
  return benchService(redisUrl, redis, count, prefix, splitsFile);
}

async function benchService(
  redisUrl: string,
  redis: Redis,
  count: number,
  prefix: string,
  splitsFile: string,
): Promise<SizeResult> {
  const service = await startServiceChild(redisUrl, prefix, splitsFile);
  try {
    const url = service.ready.url;
    // Start-up records every split's first read in its audit trail; wait until that is done.
    await waitQuiet(service.pid, 0.25, 1_000, 60_000);
    const idleCpuShare = await cpuShare(service.pid, 3_000);
    const atStart = memoryOf(service.pid);
    log(
      `${count} splits: service at ${url}, idle CPU ${Math.round(idleCpuShare * 100)} % of a core`,
    );
    const body = await request(`${url}/traefik`);
    const gz = await request(`${url}/traefik`, { headers: { 'accept-encoding': 'gzip' } });
    const serving = await measureServing(url, count, count <= 10 ? 0.5 : 0.8, settings, log);
    const afterLoad = memoryOf(service.pid);
    const current = new Map<string, number>();
    for (let i = 0; i < count; i++) current.set(splitName(i), 10);
    const freshness = [];
    for (const kind of ['api', 'hset'] as const) {
      const f = await measureFreshness({
        serviceUrl: url,
        redis,
        keyPrefix: prefix,
        splits: count,
        current,
        kind,
        options: {
          writes: settings.writes,
          perWriteTimeoutMs: 3_000,
          pauseMs: [20, 60],
          budgetMs: 120_000,
        },
        target: 100,
      });
      freshness.push(f);
      log(
        `  freshness ${count} splits ${kind}: p50 ${f.latency.p50} ms p99 ${f.latency.p99} ms max ${f.latency.max} ms (${f.latency.n} writes, ${f.timeouts} timeouts)`,
      );
    }
    const histogram = await renderHistogram(url);
    const after = memoryOf(service.pid);
    const heap = await askMemory(service);
    const inProcess = await measureInProcess(count, settings.renderIterations, redis, prefix);
    log(
      `  per change p50 ${inProcess.perChangeMs.p50} ms p99 ${inProcess.perChangeMs.p99} ms; full render p50 ${inProcess.fullRenderMs.p50} ms; readAll p50 ${inProcess.readAllMs.p50} ms; RSS ${Math.round(after?.rssMB ?? NaN)} MB`,
    );
    const rss = Math.max(afterLoad?.rssMB ?? 0, after?.rssMB ?? 0);
    const peak = after?.peakRssMB ?? NaN;
    return {
      splits: count,
      serving,
      freshness,
      inProcess,
      service: {
        bodyBytes: body.body.length,
        gzipBytes: gz.body.length,
        idleCpuShare: Math.round(idleCpuShare * 1000) / 1000,
        rssAfterLoadMB: Math.round(rss * 10) / 10,
        peakRssMB: Math.round(peak * 10) / 10,
        ...(heap && {
          heapUsedMB: Math.round(heap.memory.heapUsed / 1e5) / 10,
          heapTotalMB: Math.round(heap.memory.heapTotal / 1e5) / 10,
          heapLiveMB: Math.round(heap.afterGc.heapUsed / 1e5) / 10,
          rssAfterGcMB: Math.round(heap.afterGc.rss / 1e5) / 10,
        }),
        rssAfterStartMB: Math.round((atStart?.rssMB ?? NaN) * 10) / 10,
        peakRssAtStartMB: Math.round((atStart?.peakRssMB ?? NaN) * 10) / 10,
        ...(histogram && { renderHistogram: histogram }),
      },
      targets: {
        renderMs: 100,
        rssMB: 200,
        renderMet: inProcess.perChangeMs.p99 <= 100,
        rssMet: rss <= 200,
      },
    };
  } finally {
    await service.stop();
  }
}

async function routing(): Promise<{ outcome: Outcome<RoutingResult>; traefik: string }> {
  if (process.env.BENCH_SKIP_ROUTING === '1') {
    return { outcome: { skipped: 'BENCH_SKIP_ROUTING=1' }, traefik: 'not used' };
  }
  const bin = resolveTraefikBinary();
  if (bin === undefined)
    return { outcome: { skipped: traefikMissingReason() }, traefik: 'missing' };
  const version = traefikVersion(bin);
  log(`Traefik ${version}: write to routing, Redis restart, key deletion`);
  try {
    const ok = await measureRouting(
      bin,
      {
        writes: settings.routingWrites,
        boundMs: settings.routingBoundMs,
        outageMs: settings.outageMs,
      },
      log,
    );
    return { outcome: { ok }, traefik: version };
  } catch (err) {
    console.error(err);
    return { outcome: { error: (err as Error).message.slice(0, 500) }, traefik: version };
  }
}

async function idle(): Promise<Outcome<IdleCost[]>> {
  if (process.env.BENCH_SKIP_ROUTING === '1') return { skipped: 'BENCH_SKIP_ROUTING=1' };
  const bin = resolveTraefikBinary();
  if (bin === undefined) return { skipped: traefikMissingReason() };
  log(`idle cost over ${settings.idleSec} s: held polls and plain polling`);
  try {
    return {
      ok: await measureIdle(bin, { sizes: settings.idleSizes, idleSec: settings.idleSec }, log),
    };
  } catch (err) {
    console.error(err);
    return { error: (err as Error).message.slice(0, 500) };
  }
}

/** The commit measured, and whether src/ had uncommitted changes (the tree is shared). */
function codeUnderTest(): { commit: string; srcDirty: boolean } {
  const git = (...args: string[]): string =>
    spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  return {
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    srcDirty: git('status', '--porcelain', '--', 'src') !== '',
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  // Read before the build output is used: what this run measures.
  const code = codeUnderTest();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-bench-'));
  const redisServer = await startOwnRedisServer(['--appendonly', 'no']);
  const redis = new Redis(redisServer.url);
  const sizes: SizeResult[] = [];
  try {
    for (const count of settings.sizes)
      sizes.push(await benchSize(redisServer.url, redis, count, dir));
  } finally {
    redis.disconnect();
    await redisServer.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const { outcome, traefik } = await routing();
  const idleCost = await idle();
  const results: BenchResults = {
    command: 'npm run bench',
    machine: describeMachine(traefik),
    code,
    settings,
    sizes,
    routing: outcome,
    idle: idleCost,
    durationSec: Math.round((Date.now() - started) / 1000),
  };
  const resultsDir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const stamp = results.machine.date.replace(/[:.]/g, '-');
  const text = `${JSON.stringify(results, null, 2)}\n`;
  fs.writeFileSync(path.join(resultsDir, `${stamp}.json`), text);
  fs.writeFileSync(path.join(resultsDir, 'latest.json'), text);
  const docFile = path.join(ROOT, 'docs/performance.md');
  const existing = fs.existsSync(docFile) ? fs.readFileSync(docFile, 'utf8') : undefined;
  fs.writeFileSync(docFile, updateDocument(existing, renderTables(results), SKELETON));
  log(
    `wrote bench/results/${stamp}.json, bench/results/latest.json and docs/performance.md in ${results.durationSec} s`,
  );
}

const watchdog = setTimeout(() => {
  console.error(`npm run bench: still running after ${HARD_LIMIT_MS / 60_000} min; giving up`);
  process.exit(1);
}, HARD_LIMIT_MS);
watchdog.unref();

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof MissingToolError ? `npm run bench: ${err.message}` : err);
    process.exit(1);
  },
);
