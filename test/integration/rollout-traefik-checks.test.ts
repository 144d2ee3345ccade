import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SplitsConfig } from '../../src/config/splits';
import type { Rollouts } from '../../src/rollout';
import type { RolloutState } from '../../src/rollout/plan/rollout-state';
import { waitUntil } from '../../scripts/lib/ports';
import { useRolloutRig } from '../helpers/rollout-rig';
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
  const rig = useRolloutRig({
    prefixStem: 'traefik-checks',
    startExporter: () =>
      startTraefikExporter({
        [STABLE]: { rps: 50, errorRatio: 0 },
        [CANARY]: { rps: 50, errorRatio: 0 },
      }),
    readyQuery: `count_over_time(traefik_service_requests_total{service="${CANARY}",code="200"}[5s]) >= 5`,
  });
  const { readState, weights, waitForStatus } = rig;

  function splitsWith(rollout: Record<string, unknown>): SplitsConfig {
    return councilWithRollout({
      analysisInterval: '1s',
      notifications: { webhooks: [`${rig.receiver.url}/hook`] },
      ...rollout,
    });
  }

  /**
   * A rollout started on a leading replica: 10 % then 50 %, judged by the built-in success-rate
   * check (at least 99 % over 5s, from `minRequests` requests on).
   */
  async function startRolloutOnSuccessRate(
    bakeTime: string,
    minRequests: number,
  ): Promise<Rollouts> {
    const { rollouts } = await rig.replica(
      splitsWith({
        steps: [10, 50],
        bakeTime,
        checks: [
          {
            name: 'success-rate',
            type: 'traefik',
            metric: 'success-rate',
            window: '5s',
            min: 99,
            minRequests,
          },
        ],
      }),
      { identity: 'replica' },
    );
    rollouts.start();
    await waitUntil('the replica to lead', () => rollouts.controller.isLeader, 5_000);
    await rollouts.service.start('council', { actor: 'alice', source: 'api' });
    return rollouts;
  }

  test('when the canary answers 500 to 40 % of requests, then success-rate fails and it is rolled back', async () => {
    rig.exporter.set(CANARY, { rps: 50, errorRatio: 0.4 });
    // Start once the 5s rate window holds only the bad traffic.
    const rate = `100 * sum(rate(traefik_service_requests_total{service="${CANARY}",code!~"5.."}[5s])) / sum(rate(traefik_service_requests_total{service="${CANARY}"}[5s]))`;
    await waitUntil(
      'the canary success rate to settle near 60 %',
      async () => ((await rig.prometheus.query(rate))[0]?.value ?? 100) < 65,
      15_000,
      200,
    );
    const r = await startRolloutOnSuccessRate('30s', 20);
    await waitForStatus('rolled_back', 15_000);
    const state = (await readState()) as RolloutState;
    expect(state.rollback).toMatchObject({ check: 'success-rate', threshold: 99 });
    expect(state.rollback?.value).toBeGreaterThan(50);
    expect(state.rollback?.value).toBeLessThan(70);
    expect(await weights()).toEqual({ main: '100', canary: '0' });
    const status = await r.service.status('council');
    expect(status.checks[0].query).toBe(rate);
    await rig.receiver.waitFor('/hook', 2);
    const announced = rig.receiver.delivered('/hook')[1].body as {
      type: string;
      check: { name: string; query: string; value: number; threshold: number };
    };
    expect(announced.type).toBe('rollout.rolled_back');
    expect(announced.check).toMatchObject({ name: 'success-rate', query: rate, threshold: 99 });
  }, 30_000);

  test('when the canary has fewer than minRequests requests, then the check is inconclusive and the rollout pauses', async () => {
    rig.exporter.set(CANARY, { rps: 2, errorRatio: 0 });
    await startRolloutOnSuccessRate('2s', 1000);
    await waitForStatus('paused', 15_000);
    const state = (await readState()) as RolloutState;
    expect(state).toMatchObject({ status: 'paused', pausedBy: 'inconclusive', step: 0 });
    expect(state.checks['success-rate'].verdict).toBe('inconclusive');
    expect(state.checks['success-rate'].reason).toMatch(/^too few samples: [\d.]+ < 1000$/);
    expect(await weights()).toEqual({ main: '90', canary: '10' });
  }, 30_000);
});
