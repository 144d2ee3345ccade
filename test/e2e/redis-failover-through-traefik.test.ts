/**
 * A Redis failover under load, end to end: one primary, one replica and three Sentinels; the built
 * service in Sentinel mode, mid-rollout; a real Traefik polling it under steady traffic. The primary
 * is SIGKILLed: no request through Traefik fails, writes work again on the new primary, a weight
 * written there is routed, and the rollout goes on to complete.
 */
import { adminApiRequest, putWeights, retryUntilAccepted } from '../helpers/admin-api-request';
import { startBackend, type BackendHandle } from '../../scripts/lib/backend-server';
import {
  p95LatencyCheck,
  startCouncilMetrics,
  type CouncilMetrics,
} from '../helpers/council-metrics';
import { freePort, waitUntil } from '../../scripts/lib/ports';
import {
  startSentinelGroup,
  type SentinelGroupHandle,
} from '../../scripts/lib/redis-sentinel-group';
import { uniquePrefix } from '../../scripts/lib/redis-process';
import { startServiceProcess, type ServiceProcess } from '../helpers/service';
import { routedCouncil, writeSplitsFile } from '../helpers/splits-file';
import { startTraefik, type TraefikHandle } from '../../scripts/lib/traefik-process';
import { closeTraffic, shareOf, steadyLoad } from '../../scripts/lib/traffic';
import { waitUntilShare } from '../helpers/routing-probe';
import { stopInOrder } from '../helpers/stop-in-order';

jest.setTimeout(90_000);

interface RolloutView {
  status: string;
  step: number;
  steps: number;
}

describe('a Redis failover through a real Traefik', () => {
  let group: SentinelGroupHandle;
  let main: BackendHandle;
  let canary: BackendHandle;
  let council: CouncilMetrics;
  let service: ServiceProcess;
  let traefik: TraefikHandle;
  let splits: ReturnType<typeof writeSplitsFile>;
  const prefix = uniquePrefix('e2e-sentinel');

  const rollout = async (): Promise<RolloutView> =>
    (await adminApiRequest<RolloutView>(service.url, 'GET', '/api/v1/splits/council/rollout')).body;

  const setSearch = (green: number): Promise<number> =>
    putWeights(service.url, 'search', { blue: 100 - green, green }, 5_000);

  beforeAll(async () => {
    group = await startSentinelGroup('e2e-failover');
    main = await startBackend('main');
    canary = await startBackend('canary');
    council = await startCouncilMetrics();
    splits = writeSplitsFile({
      splits: {
        council: routedCouncil(main, canary, {
          defaultWeights: { main: 100, canary: 0 },
          rollout: {
            steps: [10, 30, 60, 100],
            bakeTime: '4s',
            analysisInterval: '1s',
            checks: [p95LatencyCheck({ window: '10s', for: '2s' })],
          },
        }),
        search: {
          stable: 'blue',
          canary: 'green',
          backends: { blue: { servers: [main.url] }, green: { servers: [canary.url] } },
          defaultWeights: { blue: 100, green: 0 },
          router: { rule: 'Host(`search.localhost`)', entryPoints: ['web'] },
        },
      },
    });
    const servicePort = await freePort();
    service = await startServiceProcess(servicePort, {
      REDIS_SENTINELS: group.sentinels,
      REDIS_SENTINEL_NAME: group.name,
      KEY_PREFIX: prefix,
      SPLITS_FILE: splits.file,
      PROMETHEUS_URL: council.prometheus.url,
      LOG_LEVEL: 'warn',
    });
    traefik = await startTraefik({
      providerUrl: `http://127.0.0.1:${servicePort}/traefik`,
      pollInterval: '1s',
      throttle: '200ms',
    });
    for (const host of ['council.localhost', 'search.localhost']) {
      await waitUntilShare(
        `Traefik to route ${host} to its stable backend`,
        { webUrl: traefik.webUrl, host, backend: 'main', sample: 5 },
        (mainShare) => mainShare === 1,
        30_000,
      );
    }
  });

  afterAll(() =>
    stopInOrder(traefik, service, council, main, canary, group, closeTraffic, splits?.remove),
  );

  test('when the primary is SIGKILLed mid-rollout under load, then no request fails, writes resume, a new weight is routed and the rollout completes on the new primary', async () => {
    const load = steadyLoad(traefik.webUrl, 'council.localhost', { workers: 2, limitMs: 80_000 });
    try {
      // A rollout in progress, its first step applied by the controller.
      const started = await adminApiRequest(service.url, 'POST', '/api/v1/splits/council/rollout', {
        version: '2.0.0',
      });
      expect(started.status).toBe(202);
      await waitUntil(
        'the first step applied',
        async () => group.primary.cli('HGET', `${prefix}weights:council`, 'canary').trim() === '10',
        15_000,
        100,
      );
      await waitUntil(
        'the first step replicated',
        async () => group.replica.cli('HGET', `${prefix}weights:council`, 'canary').trim() === '10',
        10_000,
        100,
      );
      const atKill = await rollout();
      expect(atKill).toMatchObject({ status: 'progressing' });

      const killedAt = Date.now();
      await group.primary.kill();

      const { status, attempts } = await retryUntilAccepted(() => setSearch(100), killedAt, 40_000);
      const writesBackMs = Date.now() - killedAt;
      expect(status).toBe(200);
      expect(group.primaryPort()).toBe(group.replica.port);

      // The weight written on the new primary is what Traefik routes.
      await waitUntilShare(
        'Traefik to route search to green',
        { webUrl: traefik.webUrl, host: 'search.localhost', backend: 'canary', sample: 10 },
        (greenShare) => greenShare === 1,
      );
      const routedMs = Date.now() - killedAt;

      // The rollout goes on from its state on the new primary to its last step.
      await waitUntil(
        'the rollout to complete',
        async () => (await rollout()).status === 'completed',
        45_000,
        250,
      );
      const completedMs = Date.now() - killedAt;
      const end = await rollout();
      const tally = await load.stop();
      console.log(
        `Sentinel failover through Traefik: writes back ${writesBackMs} ms after SIGKILL of the primary ` +
          `(${attempts} attempts), the new weight routed at ${routedMs} ms, rollout (step ${atKill.step} of ` +
          `${atKill.steps} at the kill) completed at ${completedMs} ms; through Traefik ${tally.failed} of ` +
          `${tally.total} requests failed ${JSON.stringify(tally.byAnswer)}`,
      );
      expect(end).toMatchObject({ status: 'completed', step: 4 });
      expect(group.replica.cli('HGET', `${prefix}weights:council`, 'canary').trim()).toBe('100');
      expect(tally.total).toBeGreaterThan(100);
      expect(tally.failed).toBe(0);
      expect(await shareOf(traefik.webUrl, 'council.localhost', 'canary', 20)).toBe(1);
    } finally {
      await load.stop();
    }
  });
});
