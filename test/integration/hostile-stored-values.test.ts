/**
 * Whatever an operator types into a split's hash with redis-cli, a rollback still goes through:
 * the API's rollback, the rollout abort and the controller's automatic rollback each move what
 * /traefik serves to the stable backend at 100 %, and /traefik stays valid meanwhile.
 * One split per value and path, all driven at once through the public surface.
 */
import request from 'supertest';
import { sleep } from '../../scripts/lib/child-process';
import { Redis } from 'ioredis';
import { startServiceUnderTest, type ServiceUnderTest } from '../helpers/service';
import {
  p95LatencyCheck,
  startCouncilMetrics,
  type CouncilMetrics,
} from '../helpers/council-metrics';
import { startRedisServer, type RedisServerHandle } from '../../scripts/lib/redis-process';
import { waitUntil } from '../../scripts/lib/ports';
import { ADMIN_AUTH } from '../helpers/admin-api-request';
import { councilServers, councilSplit } from '../helpers/splits-fixtures';

jest.setTimeout(120_000);
/** Values a tired operator or a script may leave in a weight field. */
const HOSTILE = [
  'inf',
  '-inf',
  'nan',
  '-nan',
  'Infinity',
  'NaN',
  '1e309',
  '-1e309',
  '9'.repeat(400),
  '0x10',
  '1e2',
  ' 5',
  '5 ',
  '+5',
  '05',
  '-0',
  '',
  '-5',
  '2.5',
  '1000001',
  'abc',
  '10\nmain=90',
  '１',
  '\u00a05',
  '1e-400',
];

type Served = { name: string; weight: number }[];

function splitsDoc(): unknown {
  const splits: Record<string, unknown> = {};
  // The canary answers in 0.1 s: above 0.01 s, so the check fails from its first sample.
  const failingCheck = (forTime: string) =>
    p95LatencyCheck({ window: '10s', threshold: 0.01, for: forTime });
  /** 10 % then 100 %, baking 10m: only a rollback or an abort ends it within the test. */
  const splitWithRollout = (analysisInterval: string, checkFor: string) =>
    councilSplit({
      backends: councilServers({ canary: '2.0.0' }),
      rollout: {
        steps: [10, 100],
        bakeTime: '10m',
        analysisInterval,
        checks: [failingCheck(checkFor)],
      },
    });
  HOSTILE.forEach((_v, i) => {
    // a*: the API rollback, then a rollout aborted long before its check could roll it back.
    splits[`a${i}`] = splitWithRollout('10s', '10m');
    // c*: a rollout the controller rolls back on its own.
    splits[`c${i}`] = splitWithRollout('1s', '4s');
  });
  return { splits };
}

describe('hostile values stored in a split hash', () => {
  let redisServer: RedisServerHandle;
  let redis: Redis;
  let council: CouncilMetrics;
  let svc: ServiceUnderTest;

  const served = async (): Promise<Record<string, Served>> => {
    const res = await request(svc.server).get('/traefik').set('Accept', 'application/json');
    expect(res.status).toBe(200);
    const out: Record<string, Served> = {};
    for (const [name, s] of Object.entries(
      res.body.http.services as Record<string, { weighted?: { services: Served } }>,
    )) {
      if (s.weighted) out[name] = s.weighted.services;
    }
    return out;
  };
  const STABLE: Served = [{ name: 'x-main', weight: 100 }];
  const stableOf = (split: string): Served => [{ ...STABLE[0], name: `${split}-main` }];
  const canaryAt10 = (split: string): Served => [
    { name: `${split}-canary`, weight: 10 },
    { name: `${split}-main`, weight: 90 },
  ];
  const expectValid = (all: Record<string, Served>, names: string[]) => {
    for (const n of names) {
      expect(all[n].length).toBeGreaterThan(0);
      expect(all[n].every((s) => Number.isInteger(s.weight) && s.weight > 0)).toBe(true);
    }
  };
  /** Starts a rollout of each split through the API. */
  const startRollouts = async (names: string[], reason: string) => {
    for (const name of names) {
      const res = await request(svc.server)
        .post(`/api/v1/splits/${name}/rollout`)
        .set(ADMIN_AUTH)
        .send({ reason });
      expect(res.status).toBe(202);
    }
  };
  /** Until /traefik serves `expected(name)` for every split named; returns what it served last. */
  const waitUntilServed = async (
    what: string,
    names: string[],
    expected: (split: string) => Served,
    timeoutMs: number,
  ): Promise<Record<string, Served>> => {
    let all: Record<string, Served> = {};
    await waitUntil(
      what,
      async () => {
        all = await served();
        return names.every((n) => JSON.stringify(all[n]) === JSON.stringify(expected(n)));
      },
      timeoutMs,
      200,
    );
    return all;
  };
  const hostile = (split: string, value: string) =>
    redis.hset(`${svc.prefix}weights:${split}`, 'canary', value);

  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = new Redis(redisServer.url);
    council = await startCouncilMetrics();
    svc = await startServiceUnderTest({
      redisUrl: redisServer.url,
      env: { PROMETHEUS_URL: council.prometheus.url },
      splits: splitsDoc(),
    });
  });

  afterAll(async () => {
    await svc?.stop();
    await council?.stop();
    redis?.disconnect();
    await redisServer?.stop();
  });

  test('when a hostile value is stored, then the API rollback still moves /traefik to stable 100 %', async () => {
    const names = HOSTILE.map((_v, i) => `a${i}`);
    for (const name of names) {
      const res = await request(svc.server)
        .put(`/api/v1/splits/${name}/weights`)
        .set(ADMIN_AUTH)
        .send({ weights: { main: 90, canary: 10 } });
      expect(res.status).toBe(200);
    }
    await Promise.all(HOSTILE.map((v, i) => hostile(`a${i}`, v)));
    await request(svc.server).get('/api/v1/splits'); // any read; the watcher notices on its own
    const failures: string[] = [];
    for (const [i, value] of HOSTILE.entries()) {
      const name = `a${i}`;
      const res = await request(svc.server)
        .post(`/api/v1/splits/${name}/rollback`)
        .set(ADMIN_AUTH)
        .send({ reason: 'hostile value' });
      if (res.status !== 200) failures.push(`${JSON.stringify(value)}: ${res.status} ${res.text}`);
      else {
        // The old value is recorded as the text it was.
        const before = { ...res.body.event.before, ...res.body.event.beforeText };
        expect(before).toEqual({ main: 90, canary: value });
      }
    }
    expect(failures).toEqual([]);
    const all = await served();
    expectValid(all, names);
    for (const name of names) expect(all[name]).toEqual(stableOf(name));
  });

  test('when a hostile value is stored during a rollout, then abort rolls it back to stable 100 %', async () => {
    const names = HOSTILE.map((_v, i) => `a${i}`);
    await startRollouts(names, 'to abort');
    await waitUntilServed('every first step served', names, canaryAt10, 30_000);
    await Promise.all(HOSTILE.map((v, i) => hostile(`a${i}`, v)));
    // The split is invalid now: /traefik keeps serving the last good weights.
    await sleep(1500);
    let all = await served();
    expectValid(all, names);
    for (const name of names) expect(all[name]).toEqual(canaryAt10(name));

    const failures: string[] = [];
    for (const [i, value] of HOSTILE.entries()) {
      const res = await request(svc.server)
        .post(`/api/v1/splits/a${i}/rollout/abort`)
        .set(ADMIN_AUTH)
        .send({ reason: 'hostile value' });
      if (res.status !== 200) failures.push(`${JSON.stringify(value)}: ${res.status} ${res.text}`);
    }
    expect(failures).toEqual([]);
    all = await waitUntilServed(
      'every aborted split served at stable 100 %',
      names,
      stableOf,
      20_000,
    );
    expectValid(all, names);
  });

  test('when a hostile value is stored during a rollout, then the controller rolls it back to stable 100 %', async () => {
    const names = HOSTILE.map((_v, i) => `c${i}`);
    await startRollouts(names, 'to fail');
    const hostileSet = new Set<string>();
    // Each split gets its value as soon as its first step is served, before its check has failed
    // for long enough to roll it back.
    await waitUntil(
      'every first step served and spoiled',
      async () => {
        const all = await served();
        await Promise.all(
          names.map(async (n, i) => {
            if (!hostileSet.has(n) && JSON.stringify(all[n]) === JSON.stringify(canaryAt10(n))) {
              hostileSet.add(n);
              await hostile(n, HOSTILE[i]);
            }
          }),
        );
        return hostileSet.size === names.length;
      },
      30_000,
      100,
    );
    let all: Record<string, Served> = {};
    await waitUntil(
      'every split rolled back by the controller',
      async () => {
        all = await served();
        expectValid(all, names);
        return names.every((n) => JSON.stringify(all[n]) === JSON.stringify(stableOf(n)));
      },
      60_000,
      250,
    );
    for (const [i, value] of HOSTILE.entries()) {
      const status = await request(svc.server).get(`/api/v1/splits/c${i}/rollout`);
      expect(status.status).toBe(200);
      expect([JSON.stringify(value), status.body.status]).toEqual([
        JSON.stringify(value),
        'rolled_back',
      ]);
      const history = await request(svc.server).get(`/api/v1/splits/c${i}/history?limit=5`);
      const rollback = history.body.events.find(
        (e: { source: string; after: Record<string, number> | null }) =>
          e.source === 'controller' && e.after?.canary === 0,
      );
      expect(rollback?.beforeText).toEqual({ canary: value });
    }
  });
});
