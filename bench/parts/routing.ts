import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { startBackend, type BackendHandle as Backend } from '../../scripts/lib/backend-server';
import { BENCH_ADMIN_HEADERS, BENCH_ADMIN_TOKEN, json, request } from '../lib/http';
import { sleep, startNodeChild, type NodeChild } from '../../scripts/lib/child-process';
import { startOwnRedisServer, type RedisServerHandle } from '../../scripts/lib/redis-process';
import { writeDefaultCertificate } from '../../scripts/lib/default-certificate';
import { routedSplit } from '../lib/splits';
import { summarize, type Summary } from '../lib/stats';
import { startTraefik, type TraefikHandle } from '../../scripts/lib/traefik-process';

export type ProviderName = 'ours' | 'ours-held' | 'ours-held-hset' | 'traefik-redis';

export interface RoutingLatency {
  provider: ProviderName;
  /** Traefik ran with a default TLS certificate (no RSA key generated per applied configuration). */
  defaultCertificate: boolean;
  writes: number;
  /** From the start of the write to the first request Traefik routes by the new weights, ms. */
  latency: Summary;
  timeouts: number;
}

export interface OutageProbe {
  probes: number;
  /** Answered 200 by a backend. */
  routed: number;
  failed: number;
  byBackend: Record<string, number>;
}

export interface RestartObservation {
  provider: ProviderName;
  downForMs: number;
  duringOutage: OutageProbe;
  /** What GET /traefik answered while Redis was down (ours only). */
  providerDuringOutage?: Record<string, number>;
  /** From Redis accepting connections again to the first write it took, ms. */
  writeAcceptedAfterMs: number | null;
  /** From that write to the first request routed by it; null when not within the bound. */
  firstChangeAppliedMs: number | null;
  secondChangeAppliedMs: number | null;
  boundMs: number;
  /** Error lines the Traefik instance logged from the crash on (first few, shortened). */
  traefikErrors: { count: number; samples: string[] };
}

export interface DeleteObservation {
  provider: ProviderName;
  deleted: string;
  before: { applied: unknown; byBackend: Record<string, number> };
  after: { applied: unknown; byBackend: Record<string, number> };
  /** From the DEL to Traefik's API showing a different weighted service, ms; null if it did not. */
  changedAfterMs: number | null;
}

export interface RoutingResult {
  settings: Record<string, string>;
  latency: RoutingLatency[];
  restart: RestartObservation[];
  deletion: DeleteObservation[];
}

const PREFIX = 'bench:route:';
const KV = 'traefik/http';
const KV_WEIGHT = (i: number): string => `${KV}/services/bench/weighted/services/${i}/weight`;
const trafficAgent = new http.Agent({ keepAlive: true, maxSockets: 2 });

interface Side {
  provider: ProviderName;
  traefik: TraefikHandle;
  serviceName: string;
  /** Sets the canary percent; resolves when the write was taken. */
  write(percent: number): Promise<void>;
}

/** Where one request through Traefik went: the backend's name, or why it failed. */
async function probe(traefik: TraefikHandle): Promise<string> {
  try {
    const res = await request(`${traefik.webUrl}/`, {
      headers: { host: 'bench.localhost' },
      agent: trafficAgent,
      timeoutMs: 2_000,
    });
    return res.status === 200 ? String(res.headers['x-backend']) : `status ${res.status}`;
  } catch {
    return 'connection error';
  }
}

/** Probes every ~2 ms until `backend` answers; elapsed ms since `t0`, or null after `boundMs`. */
async function untilRoutedTo(
  traefik: TraefikHandle,
  backend: string,
  t0: number,
  boundMs: number,
): Promise<number | null> {
  while (performance.now() - t0 < boundMs) {
    if ((await probe(traefik)) === backend) return performance.now() - t0;
    await sleep(2);
  }
  return null;
}

/** Waits until 20 requests in a row go to `backend` (a new configuration fully applied). */
async function untilSteady(
  traefik: TraefikHandle,
  backend: string,
  boundMs: number,
): Promise<void> {
  const deadline = Date.now() + boundMs;
  let streak = 0;
  while (streak < 20 && Date.now() < deadline) {
    streak = (await probe(traefik)) === backend ? streak + 1 : 0;
    if (streak === 0) await sleep(20);
  }
}

async function distribution(traefik: TraefikHandle, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const where = await probe(traefik);
    counts[where] = (counts[where] ?? 0) + 1;
  }
  return counts;
}

async function applied(side: Side): Promise<unknown> {
  try {
    const svc = (await json(
      `${side.traefik.apiUrl}/api/http/services/${side.serviceName}`,
      2_000,
    )) as {
      weighted?: { services?: unknown };
    };
    return svc.weighted?.services ?? null;
  } catch (err) {
    return `unavailable: ${(err as Error).message}`;
  }
}

/** Retries `what` every 50 ms until it resolves (true) or `boundMs` passed (false). */
async function retry(what: () => Promise<unknown>, boundMs: number): Promise<boolean> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    try {
      await what();
      return true;
    } catch {
      if (Date.now() > deadline) return false;
      await sleep(50);
    }
  }
}

/** WRN/ERR lines Traefik logged from `since` on: how many, and the first few (shortened). */
function errorLines(log: string, since: number): { count: number; samples: string[] } {
  const samples: string[] = [];
  let count = 0;
  for (const line of log.split('\n')) {
    const at = Date.parse(line.slice(0, 25).split(' ')[0]);
    if (!(at >= since - 1_000) || !/ (ERR|WRN) /.test(line)) continue;
    count++;
    if (samples.length < 4) samples.push(line.replace(/\s+/g, ' ').slice(0, 240));
  }
  return { count, samples };
}

/**
 * Parts 4 and 5: one redis-server (keyspace notifications on, AOF so a restart keeps the data),
 * two named backends, and two instances of the same Traefik binary: one polling our service
 * (providers.http), one on Traefik's own Redis KV provider (providers.redis).
 */
export async function measureRouting(
  traefikBin: string,
  options: { writes: number; boundMs: number; outageMs: number },
  log: (line: string) => void,
): Promise<RoutingResult> {
  const cleanup: (() => Promise<void>)[] = [];
  const settings = {
    pollInterval: '1s',
    pollTimeout: '2s',
    heldEndpoint: '/traefik?watch=25s',
    heldPollInterval: '250ms',
    heldPollTimeout: '30s',
    providersThrottleDuration: '200ms',
    redis: '--appendonly yes --appendfsync always --notify-keyspace-events KEA',
  };
  try {
    const backends: Backend[] = [await startBackend('main'), await startBackend('canary')];
    cleanup.push(async () => void (await Promise.all(backends.map((b) => b.stop()))));
    const [main, canary] = backends;
    const redisServer: RedisServerHandle = await startOwnRedisServer(settings.redis.split(' '));
    cleanup.push(() => redisServer.stop());
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1, lazyConnect: false });
    redis.on('error', () => undefined);
    cleanup.push(async () => redis.disconnect());

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-bench-route-'));
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const splitsFile = path.join(dir, 'splits.json');
    fs.writeFileSync(splitsFile, JSON.stringify(routedSplit(main.url, canary.url)));
    const service: NodeChild<{ url: string }> = await startNodeChild(
      path.join(__dirname, '..', 'service-child.js'),
      {
        PORT: '0',
        REDIS_URL: redisServer.url,
        KEY_PREFIX: PREFIX,
        ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
        LOG_LEVEL: 'silent',
        BENCH_SPLITS_JSON: splitsFile,
      },
      20_000,
    );
    cleanup.push(() => service.stop());
    const serviceUrl = service.ready.url;

    await redis.mset(
      `${KV}/routers/bench/rule`,
      'Host(`bench.localhost`)',
      `${KV}/routers/bench/entrypoints/0`,
      'web',
      `${KV}/routers/bench/service`,
      'bench',
      `${KV}/services/bench-main/loadbalancer/servers/0/url`,
      main.url,
      `${KV}/services/bench-canary/loadbalancer/servers/0/url`,
      canary.url,
      `${KV}/services/bench/weighted/services/0/name`,
      'bench-main',
      KV_WEIGHT(0),
      '100',
      `${KV}/services/bench/weighted/services/1/name`,
      'bench-canary',
      KV_WEIGHT(1),
      '0',
    );

    const throttle = settings.providersThrottleDuration;
    const polled = {
      providersThrottleDuration: throttle,
      http: {
        endpoint: `${serviceUrl}/traefik`,
        pollInterval: settings.pollInterval,
        pollTimeout: settings.pollTimeout,
      },
    };
    // Held polls, as shipped: the same service, polled with ?watch= by a Traefik of its own.
    const held = {
      providersThrottleDuration: throttle,
      http: {
        endpoint: `${serviceUrl}${settings.heldEndpoint}`,
        pollInterval: settings.heldPollInterval,
        pollTimeout: settings.heldPollTimeout,
      },
    };
    const redisKv = {
      providersThrottleDuration: throttle,
      redis: { endpoints: [`127.0.0.1:${redisServer.port}`], rootKey: 'traefik' },
    };
    const startBenchTraefik = async (
      providers: Record<string, unknown>,
    ): Promise<TraefikHandle> => {
      const traefik = await startTraefik({ bin: traefikBin, logLevel: 'INFO', providers });
      cleanup.push(() => traefik.stop());
      return traefik;
    };
    const ours = await startBenchTraefik(polled);
    const oursHeld = await startBenchTraefik(held);
    const theirs = await startBenchTraefik(redisKv);
    // The same three again, each Traefik with a default TLS certificate in a dynamic file: without
    // one, Traefik generates an RSA key pair on every configuration it applies, before it routes by
    // it (scripts/lib/default-certificate.ts).
    const { dynamicFile } = writeDefaultCertificate(dir);
    const certTraefiks: TraefikHandle[] = [];
    for (const providers of [held, polled, redisKv]) {
      certTraefiks.push(await startBenchTraefik({ ...providers, file: { filename: dynamicFile } }));
    }

    const api = (method: string, route: string, body: unknown) =>
      request(`${serviceUrl}/api/v1/splits/bench${route}`, {
        method,
        headers: BENCH_ADMIN_HEADERS,
        body: JSON.stringify(body),
        timeoutMs: 5_000,
      }).then((res) => {
        if (res.status !== 200)
          throw new Error(`${method} ${route}: ${res.status} ${res.body.toString()}`);
      });
    const sides: Side[] = [
      {
        provider: 'ours',
        traefik: ours,
        serviceName: 'bench@http',
        write: (percent) => api('POST', '/scale', { percent, reason: 'bench' }),
      },
      {
        provider: 'traefik-redis',
        traefik: theirs,
        serviceName: 'bench@redis',
        write: async (percent) => {
          await redis.mset(KV_WEIGHT(0), String(100 - percent), KV_WEIGHT(1), String(percent));
        },
      },
    ];
    const heldSide: Side = {
      provider: 'ours-held',
      traefik: oursHeld,
      serviceName: 'bench@http',
      write: sides[0].write,
    };
    // The emergency path: one HSET, as an operator types it in redis-cli (the same kind of write
    // as theirs, one MSET), through the same held polls.
    const heldHsetSide: Side = {
      ...heldSide,
      provider: 'ours-held-hset',
      write: async (percent) => {
        await redis.hset(
          `${PREFIX}weights:bench`,
          'main',
          String(100 - percent),
          'canary',
          String(percent),
        );
      },
    };
    const [certHeld, certPlain, certKv] = certTraefiks;
    const withCertificate: Record<ProviderName, TraefikHandle> = {
      'ours-held': certHeld,
      'ours-held-hset': certHeld,
      ours: certPlain,
      'traefik-redis': certKv,
    };
    const latencySides: (Side & { defaultCertificate: boolean })[] = [false, true].flatMap(
      (defaultCertificate) =>
        [heldSide, heldHsetSide, ...sides].map((side) => ({
          ...side,
          traefik: defaultCertificate ? withCertificate[side.provider] : side.traefik,
          defaultCertificate,
        })),
    );
    for (const side of latencySides) {
      if ((await untilRoutedTo(side.traefik, 'main', performance.now(), 20_000)) === null) {
        throw new Error(
          `Traefik (${side.provider}) never routed to main: ${side.traefik.readLog().slice(-1_500)}`,
        );
      }
    }

    // Write-to-routing: alternate canary 0 -> 100 -> 0, one provider at a time.
    const latency: RoutingLatency[] = [];
    for (const side of latencySides) {
      const times: number[] = [];
      let timeouts = 0;
      for (let i = 0; i < options.writes; i++) {
        const toCanary = i % 2 === 0;
        // A random pause decorrelates the write from the 1 s poll tick and clears the throttle.
        await sleep(250 + Math.random() * 1_000);
        const t0 = performance.now();
        const write = side.write(toCanary ? 100 : 0);
        const ms = await untilRoutedTo(
          side.traefik,
          toCanary ? 'canary' : 'main',
          t0,
          options.boundMs,
        );
        await write;
        if (ms === null) timeouts++;
        else times.push(ms);
      }
      const result = {
        provider: side.provider,
        defaultCertificate: side.defaultCertificate,
        writes: options.writes,
        latency: summarize(times),
        timeouts,
      };
      latency.push(result);
      log(
        `  ${side.provider}${side.defaultCertificate ? ' (default certificate)' : ''}: write to routing p50 ${result.latency.p50} ms p99 ${result.latency.p99} ms (${timeouts} timeouts)`,
      );
    }

    // Deleting a key: from 90/10, ours loses its weights hash, theirs loses main's weight key.
    await api('PUT', '/weights', { weights: { main: 90, canary: 10 }, reason: 'bench' }).catch(
      () => undefined,
    );
    await retry(() => redis.mset(KV_WEIGHT(0), '90', KV_WEIGHT(1), '10'), 5_000);
    const deletion: DeleteObservation[] = [];
    for (const side of sides) {
      const want = JSON.stringify(
        [
          { name: 'bench-main', weight: 90 },
          { name: 'bench-canary', weight: 10 },
        ].sort((a, b) => a.name.localeCompare(b.name)),
      );
      const deadline = Date.now() + 10_000;
      let before = await applied(side);
      while (Date.now() < deadline && JSON.stringify(sortByName(before)) !== want) {
        await sleep(100);
        before = await applied(side);
      }
      const beforeCounts = await distribution(side.traefik, 100);
      const deleted = side.provider === 'ours' ? `${PREFIX}weights:bench` : KV_WEIGHT(0);
      const t0 = performance.now();
      await redis.del(deleted);
      let after = before;
      let changedAfterMs: number | null = null;
      while (performance.now() - t0 < 10_000) {
        after = await applied(side);
        if (JSON.stringify(after) !== JSON.stringify(before)) {
          changedAfterMs = Math.round(performance.now() - t0);
          break;
        }
        await sleep(20);
      }
      // Let the new configuration settle in the router before counting.
      await sleep(500);
      deletion.push({
        provider: side.provider,
        deleted,
        before: { applied: before, byBackend: beforeCounts },
        after: { applied: await applied(side), byBackend: await distribution(side.traefik, 100) },
        changedAfterMs,
      });
    }
    for (const d of deletion) {
      log(
        `  DEL ${d.deleted}: ${JSON.stringify(d.before.byBackend)} -> ${JSON.stringify(d.after.byBackend)}`,
      );
    }
    // Redis restart: both route to main; Redis is killed; later it comes back with its data.
    for (const side of sides) await side.write(0).catch(() => undefined);
    for (const side of sides) await untilSteady(side.traefik, 'main', options.boundMs);
    const killedAt = Date.now();
    await redisServer.kill();
    const outage = new Map<ProviderName, OutageProbe>(
      sides.map((s) => [s.provider, { probes: 0, routed: 0, failed: 0, byBackend: {} }]),
    );
    const providerAnswers: Record<string, number> = {};
    const outageEnd = Date.now() + options.outageMs;
    while (Date.now() < outageEnd) {
      for (const side of sides) {
        const where = await probe(side.traefik);
        const o = outage.get(side.provider) as OutageProbe;
        o.probes++;
        if (where === 'main' || where === 'canary') o.routed++;
        else o.failed++;
        o.byBackend[where] = (o.byBackend[where] ?? 0) + 1;
      }
      const answer = await request(`${serviceUrl}/traefik`, { timeoutMs: 2_000 })
        .then((r) => `${r.status}${r.headers['x-config-stale'] === 'true' ? ' stale' : ''}`)
        .catch(() => 'connection error');
      providerAnswers[answer] = (providerAnswers[answer] ?? 0) + 1;
      await sleep(100);
    }
    await redisServer.restart();
    const upAt = performance.now();
    const downForMs = Date.now() - killedAt;
    log(`  Redis was down ${downForMs} ms; both providers now get a change`);
    const restart = await Promise.all(
      sides.map(async (side): Promise<RestartObservation> => {
        const taken = await retry(() => side.write(100), options.boundMs);
        const acceptedAt = performance.now();
        const first = !taken
          ? null
          : await untilRoutedTo(side.traefik, 'canary', acceptedAt, options.boundMs);
        const again = await retry(() => side.write(0), options.boundMs);
        const t1 = performance.now();
        const second = again
          ? await untilRoutedTo(side.traefik, 'main', t1, options.boundMs)
          : null;
        return {
          provider: side.provider,
          downForMs,
          duringOutage: outage.get(side.provider) as OutageProbe,
          ...(side.provider === 'ours' && { providerDuringOutage: providerAnswers }),
          writeAcceptedAfterMs: !taken ? null : Math.round(acceptedAt - upAt),
          firstChangeAppliedMs: first === null ? null : Math.round(first),
          secondChangeAppliedMs: second === null ? null : Math.round(second),
          boundMs: options.boundMs,
          traefikErrors: errorLines(side.traefik.readLog(), killedAt),
        };
      }),
    );
    for (const r of restart) {
      log(
        `  restart, ${r.provider}: routed ${r.duringOutage.routed}/${r.duringOutage.probes} during the outage; change after restart applied in ${r.firstChangeAppliedMs ?? 'never'} ms`,
      );
    }

    return { settings, latency, restart, deletion };
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  }
}

function sortByName(value: unknown): unknown {
  return Array.isArray(value)
    ? [...(value as { name: string }[])].sort((a, b) => a.name.localeCompare(b.name))
    : value;
}
