/**
 * An unauthenticated flood of the heaviest open read (`GET …/history?limit=1000` on a full audit
 * stream) against the built service as a process: Traefik's feed, token writes and the rollout
 * lease must go on working meanwhile.
 */
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { ADMIN_JSON_HEADERS, adminApiRequest } from '../helpers/admin-api-request';
import { auditEventFields } from '../helpers/audit-event-fields';
import { freePort, waitUntil } from '../../scripts/lib/ports';
import {
  startOwnRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import { startServiceProcess, type ServiceProcess } from '../helpers/service';
import { writeSplitsFile } from '../helpers/splits-file';
import { councilSplit } from '../helpers/splits-fixtures';
import { sleep } from '../../scripts/lib/child-process';

jest.setTimeout(120_000);

const FLOOD_LOOPS = 64;
/**
 * A check that gets no answer in this long has failed. Generous: on a loaded machine everything is
 * slower under a flood, and speed is the benchmarks' business; what must not happen is a wrong
 * answer (503, stale) or none.
 */
const ANSWER_WITHIN_MS = 15_000;
const FLOOD_MS = 10_000;
const SEEDED_EVENTS = 10_000;
const OPERATOR_REASON = 'a reason an operator wrote. '.repeat(20);
const DETAILS = JSON.stringify({
  rollout: { step: 2, steps: 4, version: '2.0.0' },
  checks: ['p95-latency', 'error-rate', 'saturation'].map((name) => ({
    name,
    value: 0.123456,
    verdict: 'pass',
    query: `histogram_quantile(0.95, sum by (le) (rate(traefik_service_request_duration_seconds_bucket{service="council-canary@http"}[1m])))`,
  })),
});

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

describe('an open-read flood', () => {
  let redisServer: RedisServerHandle;
  let redis: Redis;
  let svc: ServiceProcess;
  let splitsFile: ReturnType<typeof writeSplitsFile>;
  const prefix = uniquePrefix('flood');
  const flooder = new Agent({ connections: FLOOD_LOOPS, keepAliveTimeout: 10_000 });
  const checker = new Agent({ connections: 8, keepAliveTimeout: 10_000 });

  beforeAll(async () => {
    redisServer = await startOwnRedisServer();
    redis = new Redis(redisServer.url);
    // A full audit trail of realistic events for the flood to read.
    const eventsKey = `${prefix}events:council`;
    for (let done = 0; done < SEEDED_EVENTS; done += 1000) {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 1000; i++) {
        pipeline.xadd(
          eventsKey,
          '*',
          ...auditEventFields({
            action: 'set',
            source: 'api',
            actor: 'seed',
            // As long as the API allows (500 characters), with a controller's details.
            reason: `seeded event ${done + i}: ${OPERATOR_REASON}`.slice(0, 500),
            before: '{"canary":10,"main":90}',
            after: '{"canary":20,"main":80}',
            details: DETAILS,
          }),
        );
      }
      await pipeline.exec();
    }
    splitsFile = writeSplitsFile({
      splits: {
        council: councilSplit({
          rollout: { steps: [5, 25, 50, 100], bakeTime: '1h', autoPromote: false },
        }),
        search: {
          stable: 'blue',
          canary: 'green',
          backends: {
            blue: { servers: ['http://127.0.0.1:9002'] },
            green: { servers: ['http://127.0.0.1:9003'] },
          },
        },
      },
    });
    svc = await startServiceProcess(await freePort(), {
      REDIS_URL: redisServer.url,
      KEY_PREFIX: prefix,
      SPLITS_FILE: splitsFile.file,
      LOG_LEVEL: 'warn',
    });
  });

  afterAll(async () => {
    await svc?.stop();
    await flooder.close();
    await checker.close();
    redis?.disconnect();
    await redisServer?.stop();
    splitsFile?.remove();
  });

  const writeSearch = async (green: number): Promise<{ status: number; ms: number }> => {
    const started = performance.now();
    try {
      const res = await request(`${svc.url}/api/v1/splits/search/weights`, {
        dispatcher: checker,
        method: 'PUT',
        headers: ADMIN_JSON_HEADERS,
        body: JSON.stringify({ weights: { blue: 100 - green, green } }),
        headersTimeout: ANSWER_WITHIN_MS,
        bodyTimeout: ANSWER_WITHIN_MS,
      });
      await res.body.text();
      return { status: res.statusCode, ms: performance.now() - started };
    } catch {
      return { status: 0, ms: performance.now() - started };
    }
  };

  const get = async (
    path: string,
  ): Promise<{ status: number; stale: boolean; text: string; ms: number }> => {
    const started = performance.now();
    try {
      const res = await request(`${svc.url}${path}`, {
        dispatcher: checker,
        headersTimeout: ANSWER_WITHIN_MS,
        bodyTimeout: ANSWER_WITHIN_MS,
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        stale: res.headers['x-config-stale'] === 'true',
        text,
        ms: performance.now() - started,
      };
    } catch {
      return { status: 0, stale: false, text: '', ms: performance.now() - started };
    }
  };

  test('when 64 unauthenticated loops read history?limit=1000 for 10 s, then /ready stays 200, /traefik stays fresh, token writes succeed and the controller keeps its lease and its rollout', async () => {
    // Each job has a connection of its own.
    const names = String(await redis.client('LIST'))
      .split('\n')
      .map((line) => /name=(\S*)/.exec(line)?.[1])
      .filter((name): name is string => name?.startsWith('canary-provider') === true)
      .sort();
    expect(names).toEqual([
      'canary-provider',
      'canary-provider-api',
      'canary-provider-lease',
      'canary-provider-watch',
      'canary-provider-write',
    ]);

    // Arrange: a rollout in progress, applied by the controller, which holds the lease.
    const started = await adminApiRequest(svc.url, 'POST', '/api/v1/splits/council/rollout', {
      version: '2.0.0',
    });
    expect(started.status).toBe(202);
    await waitUntil(
      'the controller to apply the first step',
      async () => (await redis.hget(`${prefix}weights:council`, 'canary')) === '5',
      15_000,
      100,
    );
    const leaseKey = `${prefix}rollout-lease`;
    const holder = await redis.get(leaseKey);
    expect(holder).not.toBeNull();

    const before: number[] = [];
    for (let i = 0; i < 10; i++) {
      const w = await writeSearch(i % 2 === 0 ? 10 : 20);
      expect(w.status).toBe(200);
      before.push(w.ms);
    }

    // Act: the flood, and meanwhile the checks a Traefik, an operator and the controller need.
    const flood = { served: 0, refused: 0, failed: 0, other: 0 };
    const deadline = Date.now() + FLOOD_MS;
    const loops = Array.from({ length: FLOOD_LOOPS }, async () => {
      while (Date.now() < deadline) {
        try {
          const res = await request(`${svc.url}/api/v1/splits/council/history?limit=1000`, {
            dispatcher: flooder,
            headersTimeout: 60_000,
            bodyTimeout: 60_000,
          });
          const text = await res.body.text();
          if (res.statusCode === 200) flood.served++;
          else if (res.statusCode === 503 && text.includes('"OPEN_READS_BUSY"')) flood.refused++;
          else flood.other++;
        } catch {
          flood.failed++;
        }
      }
    });
    const ready: number[] = [];
    const traefik: { status: number; stale: boolean }[] = [];
    const during: { status: number; ms: number }[] = [];
    const holders = new Set<string | null>();
    const checks = (async () => {
      let i = 0;
      while (Date.now() < deadline) {
        const [r, t, w, h] = await Promise.all([
          get('/ready'),
          get('/traefik'),
          writeSearch(30 + (i++ % 2)),
          redis.get(leaseKey),
        ]);
        ready.push(r.status);
        traefik.push({ status: t.status, stale: t.stale });
        during.push(w);
        holders.add(h);
        await sleep(250);
      }
    })();
    await Promise.all([...loops, checks]);

    const rollout = JSON.parse((await get('/api/v1/splits/council/rollout')).text) as {
      status: string;
      step: number;
    };
    const duringMs = during.map((w) => w.ms);
    console.log(
      `open-read flood (${FLOOD_LOOPS} loops x ${FLOOD_MS / 1000} s of history?limit=1000 over ${SEEDED_EVENTS} events): ` +
        `served ${flood.served}, refused ${flood.refused} (503 open-reads-busy), failed ${flood.failed}, other answers ${flood.other}; ` +
        `write latency p50/max before ${percentile(before, 50).toFixed(1)}/${Math.max(...before).toFixed(1)} ms, ` +
        `during p50/p95/max ${percentile(duringMs, 50).toFixed(1)}/${percentile(duringMs, 95).toFixed(1)}/${Math.max(...duringMs).toFixed(1)} ms ` +
        `(${during.filter((w) => w.status === 200).length}/${during.length} writes 200); ` +
        `/ready non-200 ${ready.filter((s) => s !== 200).length}/${ready.length}; ` +
        `/traefik stale or non-200 ${traefik.filter((t) => t.stale || t.status !== 200).length}/${traefik.length}`,
    );

    // Assert: the flood was real and bounded, and nothing else suffered from it.
    expect(flood.served + flood.refused).toBeGreaterThan(FLOOD_LOOPS);
    expect(flood.failed + flood.other).toBe(0);
    expect(ready.length).toBeGreaterThanOrEqual(2);
    expect(ready.filter((s) => s !== 200)).toEqual([]);
    expect(traefik.filter((t) => t.stale || t.status !== 200)).toEqual([]);
    expect(during.map((w) => w.status).filter((s) => s !== 200)).toEqual([]);
    expect([...holders]).toEqual([holder]);
    expect(rollout).toMatchObject({ status: 'progressing', step: 1 });
    expect(await redis.get(leaseKey)).toBe(holder);
  });
});
