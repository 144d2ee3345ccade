import { Redis } from 'ioredis';
import { sleep } from '../../scripts/lib/child-process';
import request from 'supertest';
import { startOwnRedisServer, type RedisServerHandle } from '../../scripts/lib/redis-process';
import {
  ensureCliBuilt,
  runCli,
  startServiceUnderTest,
  SPLITS_WITH_ROLLOUT,
  type ServiceUnderTest,
} from '../helpers/service';
import { ADMIN_AUTH } from '../helpers/admin-api-request';
import { adminEnvFor } from '../helpers/cli-fixtures';

/**
 * REDIS_WRITE_REPLICAS against a real primary and a real replica (`--replicaof`): a write is
 * acknowledged once the replica holds it; with the replica gone the write answers 504
 * WRITE_NOT_REPLICATED within the timeout, and stands on the primary.
 */

const TIMEOUT_MS = 600;

let primary: RedisServerHandle;
let replica: RedisServerHandle;
let redis: Redis;
let svc: ServiceUnderTest | undefined;

/** Until `server`'s INFO replication matches `pattern`; `failure` is the error after 15 s. */
async function untilReplication(
  server: RedisServerHandle,
  pattern: RegExp,
  failure: string,
): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!pattern.test(server.cli('INFO', 'replication'))) {
    if (Date.now() > deadline) throw new Error(failure);
    await sleep(100);
  }
}

const replicaSynced = () =>
  untilReplication(replica, /master_link_status:up/, 'the replica did not sync within 15 s');

/** Kills the replica and waits until the primary counts none connected (it notices at once). */
async function killReplica(): Promise<void> {
  await replica.kill();
  await untilReplication(
    primary,
    /connected_slaves:0/,
    'the primary still lists its replica after 15 s',
  );
}

beforeAll(async () => {
  await ensureCliBuilt();
  primary = await startOwnRedisServer();
  replica = await startOwnRedisServer(['--replicaof', '127.0.0.1', String(primary.port)]);
  redis = new Redis(primary.url);
}, 150_000);

afterAll(async () => {
  redis?.disconnect();
  await replica?.stop();
  await primary?.stop();
});

beforeEach(async () => {
  await replica.restart();
  await replicaSynced();
});

afterEach(async () => {
  await svc?.stop();
  await svc?.cleanup(redis);
  svc = undefined;
});

const start = (env: Record<string, string>, splits?: unknown) =>
  startServiceUnderTest({ redisUrl: primary.url, env, splits }).then((s) => (svc = s));

/** The environment that makes every write wait for the one replica, for TIMEOUT_MS at most. */
const ONE_REPLICA = { REDIS_WRITE_REPLICAS: '1', REDIS_WRITE_TIMEOUT_MS: String(TIMEOUT_MS) };

/** POST …/council/scale with `body`, as the operator. */
const scale = (s: ServiceUnderTest, body: object) =>
  request(s.app).post('/api/v1/splits/council/scale').set(ADMIN_AUTH).send(body);

describe('REDIS_WRITE_REPLICAS on a real primary and replica', () => {
  test('when the replica is up, then a write answers 200 and the replica already holds it', async () => {
    const s = await start(ONE_REPLICA);
    await scale(s, { percent: 25 }).expect(200);
    expect(replica.cli('HGET', `${s.prefix}weights:council`, 'canary').trim()).toBe('25');
  });

  test('when the replica is down, then the write answers 504 WRITE_NOT_REPLICATED within the timeout, and stands on the primary', async () => {
    const s = await start(ONE_REPLICA);
    await killReplica();

    const started = Date.now();
    const res = await scale(s, { percent: 40, reason: 'replica down' }).expect(504);
    const took = Date.now() - started;

    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: 'https://traefik-canary-provider.dev/problems/write-not-replicated',
      title: 'WRITE_NOT_REPLICATED',
      status: 504,
      replicasWanted: 1,
      replicasConfirmed: 0,
    });
    expect(res.body.detail).toContain('reached the Redis primary and is served');
    expect(res.body.detail).toContain(`within ${TIMEOUT_MS} ms`);
    // It waited for the replica, and not much longer than it was told to (generous: loaded CI).
    expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(took).toBeLessThan(TIMEOUT_MS + 5_000);
    // The write is on the primary, audited, and served.
    expect(await redis.hgetall(`${s.prefix}weights:council`)).toEqual({ main: '60', canary: '40' });
    const [[, fields]] = await redis.xrevrange(`${s.prefix}events:council`, '+', '-', 'COUNT', 1);
    expect(fields).toEqual(expect.arrayContaining(['reason', 'replica down']));
    expect(res.headers.etag).toMatch(/^"/);
    const traefik = await request(s.listener).get('/traefik').expect(200);
    const weighted = traefik.body.http.services.council.weighted.services as {
      name: string;
      weight: number;
    }[];
    expect(weighted).toEqual([
      { name: 'council-canary', weight: 40 },
      { name: 'council-main', weight: 60 },
    ]);
  });

  test('when the replica is frozen (SIGSTOP) but still connected, then the write answers 504 WRITE_NOT_REPLICATED and stands', async () => {
    const s = await start(ONE_REPLICA);
    // Frozen, it stays connected to the primary but acknowledges nothing new.
    const pid = Number(/process_id:(\d+)/.exec(replica.cli('INFO', 'server'))?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGSTOP');
    try {
      const res = await scale(s, { percent: 35 }).expect(504);
      expect(res.body).toMatchObject({ title: 'WRITE_NOT_REPLICATED', replicasConfirmed: 0 });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(await redis.hget(`${s.prefix}weights:council`, 'canary')).toBe('35');
  });

  test('when the replica is down and no replica is asked for, then the write answers 200 at once', async () => {
    const s = await start({});
    await killReplica();
    await scale(s, { percent: 10 }).expect(200);
    expect(await redis.hget(`${s.prefix}weights:council`, 'canary')).toBe('10');
  });

  test('when the replica is down, then canaryctl says written but not replicated and exits 7', async () => {
    const s = await start(ONE_REPLICA);
    await killReplica();
    const run = await runCli(['scale', 'council', '30'], adminEnvFor(s));
    expect(run.code).toBe(7);
    expect(run.stderr).toContain('written, but not replicated:');
    expect(run.stderr).toContain('0 of the 1 replica(s)');
    expect(run.stderr).toContain('canaryctl status');
    expect(run.stdout).toBe('');
    expect(await redis.hget(`${s.prefix}weights:council`, 'canary')).toBe('30');
  });

  test('when the replica is down, then a rollout start answers 504 WRITE_NOT_REPLICATED, the rollout is written and the controller goes on', async () => {
    const s = await start(ONE_REPLICA, SPLITS_WITH_ROLLOUT);
    await killReplica();
    const res = await request(s.app)
      .post('/api/v1/splits/council/rollout')
      .set(ADMIN_AUTH)
      .send({ version: '1.5.0' })
      .expect(504);
    expect(res.body).toMatchObject({ title: 'WRITE_NOT_REPLICATED', replicasWanted: 1 });
    expect(res.body.detail).toContain('rollout transition of "council"');
    expect(await redis.hget(`${s.prefix}rollout:council`, 'status')).toBe('progressing');
    // The controller writes the first step; not replicated either, it stands and is served.
    const deadline = Date.now() + 15_000;
    while ((await redis.hget(`${s.prefix}weights:council`, 'canary')) !== '5') {
      if (Date.now() > deadline) throw new Error('the controller did not write the first step');
      await sleep(100);
    }
    expect(await redis.hget(`${s.prefix}weights:council`, 'main')).toBe('95');
  });
});
