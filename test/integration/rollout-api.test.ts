import express from 'express';
import { sleep } from '../../scripts/lib/child-process';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import request from 'supertest';
import { parseSplitsDocument, type SplitsConfig } from '../../src/config/splits';
import { requireBearer } from '../../src/http/bearer-token';
import { errorHandler } from '../../src/http/error-handler';
import { rolloutRouter } from '../../src/http/routes/rollout-routes';
import { createLogger } from '../../src/log/logger';
import type { Rollouts } from '../../src/rollout';
import { createKeys } from '../../src/store/keys';
import { createRedis } from '../../src/store/redis-client';
import type { WeightsStore } from '../../src/store/weights-store';
import { waitUntil } from '../../scripts/lib/ports';
import { createRolloutReplica, type RolloutReplica } from '../helpers/rollout-replica';
import { councilServers, councilSplit } from '../helpers/splits-fixtures';
import {
  startRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import { startWebhookReceiver, type WebhookReceiverHandle } from '../helpers/webhook-receiver';

const TOKEN = 'rollout-admin-token-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const BASE = '/api/v1/splits/council/rollout';

describe('/api/v1/splits/:name/rollout with a running controller on a real redis-server', () => {
  let redisServer: RedisServerHandle;
  let redis: Redis;
  let receiver: WebhookReceiverHandle;
  let prefix: string;
  let registry: Registry;
  let rollouts: Rollouts;
  let store: WeightsStore;
  let app: express.Express;
  let replica: RolloutReplica | undefined;

  beforeAll(async () => {
    redisServer = await startRedisServer();
  });
  afterAll(async () => {
    await redisServer.stop();
  });

  function splitsWith(rollout: Record<string, unknown>): SplitsConfig {
    return parseSplitsDocument(
      {
        splits: {
          council: councilSplit({
            backends: councilServers({ canary: '1.5.0' }),
            rollout: {
              steps: [5, 25, 100],
              bakeTime: '60s',
              analysisInterval: '1s',
              notifications: { webhooks: [`${receiver.url}/hook`] },
              ...rollout,
            },
          }),
          search: {
            stable: 'blue',
            canary: 'green',
            backends: { blue: { service: 'blue@docker' }, green: { service: 'green@docker' } },
          },
        },
      },
      'test splits',
    );
  }

  /** Builds the app as createApp mounts routers under /api/v1; `start` runs the controller. */
  async function setUp(rollout: Record<string, unknown> = {}, start = true): Promise<void> {
    const splits = splitsWith(rollout);
    const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
    replica = await createRolloutReplica({
      redisUrl: redisServer.url,
      prefix,
      splits,
      log,
      identity: 'replica-a',
      leaseTtlMs: 1_500,
      tickMs: 50,
      notifierRetryDelayMs: 20,
    });
    ({ registry, rollouts, store } = replica);
    if (start) rollouts.start();
    app = express();
    app.use(
      '/api/v1',
      rolloutRouter(rollouts.service, splits)(requireBearer(TOKEN, 'set ADMIN_TOKEN')),
    );
    app.use(errorHandler(log));
  }

  beforeEach(async () => {
    prefix = uniquePrefix('rapi');
    receiver = await startWebhookReceiver();
    redis = createRedis(redisServer.url, 'rollout-api-test');
    redis.on('error', () => undefined);
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  });
  afterEach(async () => {
    await replica?.stop();
    await receiver.stop();
    const own = await redis.keys(`${prefix}*`);
    if (own.length > 0) await redis.del(...own);
    redis.disconnect();
  });

  const keys = () => createKeys(prefix);
  const weights = () => redis.hgetall(keys().weights('council'));
  const status = async () => (await request(app).get(BASE).expect(200)).body;
  /** Until the rollout status the API answers satisfies `holds` (polled every 25 ms, 5 s at most). */
  const waitForStatus = (what: string, holds: (s: Awaited<ReturnType<typeof status>>) => boolean) =>
    waitUntil(what, async () => holds(await status()), 5_000, 25);
  const waitApplied = (percent: number) =>
    waitForStatus(`${percent}% applied`, (s) => s.applied === true && s.canaryPercent === percent);
  const waitAwaitingPromotion = () =>
    waitForStatus('awaiting promotion', (s) => s.awaitingPromotion === true);

  /** The app with its controller running, and a rollout started and applied at its first step. */
  async function startedAtFirstStep(): Promise<void> {
    await setUp();
    await request(app).post(BASE).set(AUTH).expect(202);
    await waitApplied(5);
  }

  /** A rollout command from `actor` (X-Actor) with the admin token, answered with `status`. */
  const commandBy = (actor: string, path: string, body: Record<string, unknown>, status: number) =>
    request(app).post(path).set(AUTH).set('X-Actor', actor).send(body).expect(status);
  const hookTypes = () => receiver.delivered('/hook').map((h) => (h.body as { type: string }).type);

  test('when no rollout has run, then status is 404; an unknown split 404; a split without a plan 409', async () => {
    await setUp();
    const none = await request(app).get(BASE).expect(404);
    expect(none.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(none.body).toMatchObject({
      title: 'NOT_FOUND',
      detail: expect.stringContaining('no rollout yet'),
    });
    const unknown = await request(app).get('/api/v1/splits/nope/rollout').expect(404);
    expect(unknown.body.detail).toContain('split "nope" is not declared');
    const noPlan = await request(app).post('/api/v1/splits/search/rollout').set(AUTH).expect(409);
    expect(noPlan.body).toMatchObject({ title: 'ROLLOUT_CONFLICT' });
    expect(noPlan.body.detail).toContain('has no rollout plan');
  });

  test('when writes come without the admin token or with a bad body, then they are refused and nothing is stored', async () => {
    await setUp();
    await request(app).post(BASE).expect(401);
    await request(app)
      .post(`${BASE}/abort`)
      .set('Authorization', 'Bearer wrong-token-wrong-token')
      .expect(401);
    const bad = await request(app)
      .post(BASE)
      .set(AUTH)
      .send({ version: '', colour: 'red' })
      .expect(400);
    expect(bad.body.title).toBe('VALIDATION_FAILED');
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      '(body)',
      'version',
    ]);
    await request(app)
      .post(BASE)
      .set(AUTH)
      .set('Content-Type', 'text/plain')
      .send('go')
      .expect(415);
    expect(await redis.exists(keys().rollout('council'))).toBe(0);
  });

  test('when started, then 202 at step 1, the controller applies 5 %, and status shows the bake', async () => {
    await setUp();
    const res = await commandBy('alice', BASE, { version: '1.6.0', reason: 'ship it' }, 202);
    expect(res.body).toMatchObject({
      status: 'progressing',
      step: 1,
      steps: 3,
      canaryPercent: 5,
      percentages: [5, 25, 100],
      applied: false,
      version: '1.6.0',
      startedBy: 'alice',
      reason: 'ship it',
    });
    await waitApplied(5);
    expect(await weights()).toEqual({ main: '95', canary: '5' });
    expect(await rollouts.service.versionOf('council')).toBe('1.6.0');
    expect(await rollouts.service.versionOf('search')).toBeNull();
    const s = await status();
    expect(s.bake).toMatchObject({ totalMs: 60_000, total: '1m' });
    expect(s.bake.remainingMs).toBeGreaterThan(55_000);
    expect(s.leader).toBe('replica-a');
    expect(s.summary).toMatch(
      /^council 1\.6\.0: progressing, step 1\/3 \(5%\), baked \d+(ms|s) of 1m, no checks$/,
    );
    const again = await request(app).post(BASE).set(AUTH).expect(409);
    expect(again.body.detail).toContain('already progressing (step 1/3)');
  });

  test('when paused, promoted and resumed, then each takes effect and is announced once', async () => {
    await startedAtFirstStep();

    const paused = await request(app)
      .post(`${BASE}/pause`)
      .set(AUTH)
      .send({ reason: 'lunch' })
      .expect(200);
    expect(paused.body).toMatchObject({ status: 'paused', pausedBy: 'operator', reason: 'lunch' });
    // Pausing a paused rollout changes nothing and announces nothing.
    await request(app).post(`${BASE}/pause`).set(AUTH).expect(200);

    const promoted = await request(app).post(`${BASE}/promote`).set(AUTH).expect(202);
    expect(promoted.body).toMatchObject({
      status: 'progressing',
      step: 2,
      canaryPercent: 25,
      applied: false,
    });
    await waitApplied(25);
    expect(await weights()).toEqual({ main: '75', canary: '25' });

    await request(app).post(`${BASE}/pause`).set(AUTH).expect(200);
    const resumed = await request(app).post(`${BASE}/resume`).set(AUTH).expect(202);
    expect(resumed.body).toMatchObject({ status: 'progressing', step: 2, pausedBy: null });
    await waitApplied(25);

    await receiver.waitFor('/hook', 5);
    await sleep(300);
    expect(hookTypes()).toEqual([
      'rollout.started',
      'rollout.paused',
      'rollout.promoted',
      'rollout.paused',
      'rollout.resumed',
    ]);
  });

  test('when aborted, then the weights are rolled back before the answer, by the API, and counted', async () => {
    await startedAtFirstStep();

    const res = await commandBy('bob', `${BASE}/abort`, { reason: 'customers complain' }, 200);
    // Read at once: the rollback does not wait for the controller.
    expect(await weights()).toEqual({ main: '100', canary: '0' });
    expect(res.body).toMatchObject({
      status: 'rolled_back',
      applied: true,
      canaryPercent: 0,
      reason: 'customers complain',
      rollback: { trigger: 'api', actor: 'bob', check: null },
    });
    const [event] = await store.history('council', 1);
    expect(event).toMatchObject({
      action: 'rollback',
      source: 'api',
      actor: 'bob',
      reason: 'customers complain',
    });
    const counter = await registry.getSingleMetric('swarm_rollback_events_total')?.get();
    expect(counter?.values).toEqual([{ labels: { split: 'council', trigger: 'api' }, value: 1 }]);

    await request(app).post(`${BASE}/abort`).set(AUTH).expect(409);
    await request(app).post(`${BASE}/resume`).set(AUTH).expect(409);
    await receiver.waitFor('/hook', 2);
    expect(hookTypes()).toEqual(['rollout.started', 'rollout.rolled_back']);
    // A new rollout may start once the last one is over.
    await request(app).post(BASE).set(AUTH).expect(202);
  });

  test('when someone sets the canary to 0 % by hand, then the rollout records an external rollback and stops', async () => {
    await startedAtFirstStep();
    redisServer.cli('HSET', keys().weights('council'), 'canary', '0', 'main', '100');
    await waitForStatus('external rollback recorded', (s) => s.status === 'rolled_back');
    const s = await status();
    expect(s.rollback).toMatchObject({ trigger: 'external', check: null });
    expect(s.reason).toContain('set to 0% outside the rollout');
    // The controller does not fight the operator: the weights stay as they set them.
    await sleep(300);
    expect(await weights()).toEqual({ main: '100', canary: '0' });
    await receiver.waitFor('/hook', 2);
    expect(hookTypes()).toEqual(['rollout.started', 'rollout.rolled_back']);
  });

  test('when someone changes the share by hand, then the rollout pauses; resume re-applies the step', async () => {
    await startedAtFirstStep();
    redisServer.cli('HSET', keys().weights('council'), 'canary', '20', 'main', '80');
    await waitForStatus('paused', (s) => s.status === 'paused');
    const s = await status();
    expect(s).toMatchObject({ pausedBy: 'external', step: 1 });
    expect(s.reason).toContain('canary at 20% instead of 5%');
    expect(await weights()).toEqual({ main: '80', canary: '20' });

    await request(app).post(`${BASE}/resume`).set(AUTH).expect(202);
    await waitUntil('5% again', async () => (await weights()).canary === '5', 5_000, 25);
    expect(await weights()).toEqual({ main: '95', canary: '5' });
  });

  test('when the weights change after a transition was decided, then it is abandoned, not applied', async () => {
    // Controller not running: the start stays an intent, decided on the weights of the moment.
    await setUp({}, false);
    await request(app).post(BASE).set(AUTH).expect(202);
    redisServer.cli('HSET', keys().weights('council'), 'canary', '50', 'main', '50');
    rollouts.start();
    await waitForStatus('paused', (s) => s.status === 'paused');
    const s = await status();
    expect(s).toMatchObject({ pausedBy: 'external', step: 1, applied: true });
    expect(s.reason).toContain('changed outside the rollout before step 1 (5%) was applied');
    expect(await weights()).toEqual({ main: '50', canary: '50' });
  });

  test('when autoPromote is off, then a baked step waits for promote, and promoting the last step completes', async () => {
    await setUp({ steps: [20, 60], bakeTime: '300ms', autoPromote: false });
    await request(app).post(BASE).set(AUTH).expect(202);
    await waitApplied(20);
    await waitAwaitingPromotion();
    expect((await status()).summary).toBe(
      'council 1.5.0: progressing, step 1/2 (20%), baked, waiting for promote, no checks',
    );
    await sleep(400);
    expect(await weights()).toEqual({ main: '80', canary: '20' });

    await request(app).post(`${BASE}/promote`).set(AUTH).expect(202);
    await waitApplied(60);
    await waitAwaitingPromotion();
    const done = await request(app).post(`${BASE}/promote`).set(AUTH).expect(202);
    expect(done.body).toMatchObject({ status: 'completed', canaryPercent: 100, applied: false });
    await waitApplied(100);
    expect(await weights()).toEqual({ main: '0', canary: '100' });
    const [event] = await store.history('council', 1);
    expect(event).toMatchObject({ action: 'promote', source: 'controller' });

    // The canary serves everything until the stable runs the new version: no new rollout yet.
    const refused = await request(app).post(BASE).set(AUTH).expect(409);
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(refused.body.detail).toMatch(/still serves 100%.*finalise/);
    await request(app).post(`${BASE}/finalise`).expect(401);
    const finalised = await commandBy(
      'carol',
      `${BASE}/finalise`,
      { reason: 'council-main redeployed with 1.5.0' },
      200,
    );
    expect(finalised.body).toMatchObject({ status: 'finalised', canaryPercent: 0, applied: true });
    expect(await weights()).toEqual({ main: '100', canary: '0' });
    const [last] = await store.history('council', 1);
    expect(last).toMatchObject({ action: 'promote', source: 'api', actor: 'carol' });
    await request(app).post(`${BASE}/finalise`).set(AUTH).expect(409);
    await request(app).post(BASE).set(AUTH).expect(202);
  });
});
