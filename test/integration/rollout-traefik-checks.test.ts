import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import type { SplitsConfig } from '../../src/config/splits';
import type { Rollouts } from '../../src/rollout';
import { RolloutStateStore } from '../../src/rollout/plan/rollout-state-store';
import type { RolloutState } from '../../src/rollout/plan/rollout-state';
import { createKeys } from '../../src/store/keys';
import { createRedis } from '../../src/store/redis-client';
import { rolloutLeaseKey } from '../../src/rollout/engine/lease-key';
import { waitUntil } from '../helpers/free-port';
import { startPrometheus, type PrometheusHandle } from '../helpers/prometheus';
import { startWebhookReceiver, type WebhookReceiverHandle } from '../helpers/webhook-receiver';
import { startRedisServer, uniquePrefix, type RedisServerHandle } from '../helpers/redis-server';
import { createRolloutReplica } from '../helpers/rollout-replica';
import { councilWithRollout } from '../helpers/splits-fixtures';

/** Requests per second and share of 500s of one Traefik service, as the test sets them. */
interface Traffic {
  rps: number;
  errorRatio: number;
}

/** Serves traefik_service_requests_total as Traefik would, with counts the test controls. */
async function startTraefikExporter(traffic: Record<string, Traffic>) {
  const counts = new Map<string, number>();
  const timer = setInterval(() => {
    for (const [service, t] of Object.entries(traffic)) {
      const perTick = t.rps / 10;
      const errors = perTick * t.errorRatio;
      const add = (code: string, n: number) =>
        counts.set(`${service}|${code}`, (counts.get(`${service}|${code}`) ?? 0) + n);
      add('200', perTick - errors);
      add('500', errors);
    }
  }, 100);
  const server = http.createServer((_req, res) => {
    const lines = ['# TYPE traefik_service_requests_total counter'];
    for (const [key, n] of counts) {
      const [service, code] = key.split('|');
      lines.push(`traefik_service_requests_total{service="${service}",code="${code}"} ${n}`);
    }
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(`${lines.join('\n')}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    set: (service: string, t: Traffic) => {
      traffic[service] = t;
    },
    stop: async () => {
      clearInterval(timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const CANARY = 'council-canary@http';
const STABLE = 'council-main@http';

describe('built-in traefik checks against a real Prometheus and redis-server', () => {
  let redisServer: RedisServerHandle;
  let exporter: Awaited<ReturnType<typeof startTraefikExporter>>;
  let prom: PrometheusHandle;
  let admin: Redis;
  let prefix: string;
  let rollouts: Rollouts | undefined;
  let redis: Redis | undefined;
  let receiver: WebhookReceiverHandle;

  beforeAll(async () => {
    redisServer = await startRedisServer();
    admin = createRedis(redisServer.url, 'test-admin');
    admin.on('error', () => undefined);
    exporter = await startTraefikExporter({
      [STABLE]: { rps: 50, errorRatio: 0 },
      [CANARY]: { rps: 50, errorRatio: 0 },
    });
    prom = await startPrometheus({ targets: [exporter.target] });
    await prom.waitForData(
      `count_over_time(traefik_service_requests_total{service="${CANARY}",code="200"}[5s]) >= 5`,
      20_000,
    );
  }, 40_000);

  afterAll(async () => {
    admin?.disconnect();
    await prom?.stop();
    await exporter?.stop();
    await redisServer?.stop();
  });

  beforeEach(async () => {
    prefix = uniquePrefix('traefik-checks');
    receiver = await startWebhookReceiver();
  });

  afterEach(async () => {
    await rollouts?.stop();
    redis?.disconnect();
    rollouts = undefined;
    await receiver.stop();
    const own = await admin.keys(`${prefix}*`);
    if (own.length > 0) await admin.del(...own);
  });

  function splitsWith(rollout: Record<string, unknown>): SplitsConfig {
    return councilWithRollout({
      analysisInterval: '1s',
      notifications: { webhooks: [`${receiver.url}/hook`] },
      ...rollout,
    });
  }

  async function start(splits: SplitsConfig): Promise<Rollouts> {
    const replica = await createRolloutReplica({
      redisUrl: redisServer.url,
      prefix,
      splits,
      prometheusUrl: prom.url,
      prometheusTimeoutMs: 800,
      identity: 'replica',
      leaseTtlMs: 1_500,
      tickMs: 100,
      notifierTimeoutMs: 1_000,
      notifierRetryDelayMs: 50,
    });
    const r = replica.rollouts;
    redis = replica.redis;
    r.start();
    rollouts = r;
    await waitUntil('the replica to lead', () => r.controller.isLeader, 5_000);
    return r;
  }

  const readState = async (): Promise<RolloutState | undefined> =>
    (
      await new RolloutStateStore({
        redis: admin,
        stateKey: createKeys(prefix).rollout,
        leaseKey: rolloutLeaseKey(prefix),
      }).read('council')
    )?.state;
  const waitForStatus = (status: RolloutState['status'], timeoutMs: number) =>
    waitUntil(
      `rollout status ${status}`,
      async () => {
        const state = await readState();
        return state?.status === status && state.applied;
      },
      timeoutMs,
      50,
    );

  test('when the canary answers 500 to 40 % of requests, then success-rate fails and it is rolled back', async () => {
    exporter.set(CANARY, { rps: 50, errorRatio: 0.4 });
    // Start once the 5s rate window holds only the bad traffic.
    const rate = `100 * sum(rate(traefik_service_requests_total{service="${CANARY}",code!~"5.."}[5s])) / sum(rate(traefik_service_requests_total{service="${CANARY}"}[5s]))`;
    await waitUntil(
      'the canary success rate to settle near 60 %',
      async () => ((await prom.query(rate))[0]?.value ?? 100) < 65,
      15_000,
      200,
    );
    const r = await start(
      splitsWith({
        steps: [10, 50],
        bakeTime: '30s',
        checks: [
          {
            name: 'success-rate',
            type: 'traefik',
            metric: 'success-rate',
            window: '5s',
            min: 99,
            minRequests: 20,
          },
        ],
      }),
    );
    await r.service.start('council', { actor: 'alice', source: 'api' });
    await waitForStatus('rolled_back', 15_000);
    const state = (await readState()) as RolloutState;
    expect(state.rollback).toMatchObject({ check: 'success-rate', threshold: 99 });
    expect(state.rollback?.value).toBeGreaterThan(50);
    expect(state.rollback?.value).toBeLessThan(70);
    expect(await admin.hgetall(createKeys(prefix).weights('council'))).toEqual({
      main: '100',
      canary: '0',
    });
    const status = await r.service.status('council');
    expect(status.checks[0].query).toBe(rate);
    await receiver.waitFor('/hook', 2);
    const announced = receiver.delivered('/hook')[1].body as {
      type: string;
      check: { name: string; query: string; value: number; threshold: number };
    };
    expect(announced.type).toBe('rollout.rolled_back');
    expect(announced.check).toMatchObject({ name: 'success-rate', query: rate, threshold: 99 });
  }, 30_000);

  test('when the canary has fewer than minRequests requests, then the check is inconclusive and the rollout pauses', async () => {
    exporter.set(CANARY, { rps: 2, errorRatio: 0 });
    const r = await start(
      splitsWith({
        steps: [10, 50],
        bakeTime: '2s',
        checks: [
          {
            name: 'success-rate',
            type: 'traefik',
            metric: 'success-rate',
            window: '5s',
            min: 99,
            minRequests: 1000,
          },
        ],
      }),
    );
    await r.service.start('council', { actor: 'alice', source: 'api' });
    await waitForStatus('paused', 15_000);
    const state = (await readState()) as RolloutState;
    expect(state).toMatchObject({ status: 'paused', pausedBy: 'inconclusive', step: 0 });
    expect(state.checks['success-rate'].verdict).toBe('inconclusive');
    expect(state.checks['success-rate'].reason).toMatch(/^too few samples: [\d.]+ < 1000$/);
    expect(await admin.hgetall(createKeys(prefix).weights('council'))).toEqual({
      main: '90',
      canary: '10',
    });
  }, 30_000);
});
