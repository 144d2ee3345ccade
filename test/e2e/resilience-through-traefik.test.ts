/**
 * A failing backend must not fail users. Through a real Traefik under steady load (a few workers,
 * bounded in time), every request is counted while the canary process is killed, with and without
 * the health checks and retry that splits.yaml can emit; then while Redis and the provider are
 * killed and while Redis holds invalid weights. Overrides reach the canary at weight 0.
 */
import { adminApiRequest } from '../helpers/admin-api-request';
import { startBackend, type BackendHandle } from '../../scripts/lib/backend-server';
import { freePort } from '../../scripts/lib/ports';
import {
  startOwnRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import type { ServiceProcess } from '../helpers/service';
import { writeSplitsFile } from '../helpers/splits-file';
import type { TraefikHandle } from '../../scripts/lib/traefik-process';
import { waitUntilShare } from '../helpers/routing-probe';
import { stopInOrder } from '../helpers/stop-in-order';
import { startTraefikThenService } from '../helpers/traefik-then-service';
import {
  closeTraffic,
  routeOnce as hit,
  shareOf as share,
  steadyLoad,
  windowOf,
} from '../../scripts/lib/traffic';
import { bareSplit, guardedSplit } from '../../scripts/lib/blast-radius-splits';
import { sleep } from '../../scripts/lib/child-process';

jest.setTimeout(180_000);

const PROVIDER_TOKEN = 'e2e-resilience-provider-token-0123';

describe('a failing backend through a real Traefik', () => {
  let redis: RedisServerHandle;
  let main: BackendHandle;
  let canary: BackendHandle;
  let canaryPort: number;
  let service: ServiceProcess;
  let traefik: TraefikHandle;
  let splits: ReturnType<typeof writeSplitsFile>;
  const prefix = uniquePrefix('e2e-res');

  const api = (method: 'GET' | 'PUT' | 'POST', p: string, body?: unknown) =>
    adminApiRequest(service.url, method, p, body);

  beforeAll(async () => {
    redis = await startOwnRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
    main = await startBackend('main');
    canaryPort = await freePort();
    canary = await startBackend('canary', { port: canaryPort });
    const canaryUrl = `http://127.0.0.1:${canaryPort}`;
    const backends = { mainUrl: main.url, canaryUrl, canaryPercent: 30 };
    splits = writeSplitsFile({
      splits: {
        // Health checks, passive checks and retry: what the docs recommend.
        guarded: guardedSplit(backends, {
          rule: 'Host(`guarded.localhost`)',
          entryPoints: ['web'],
          overrides: [
            { header: 'X-Canary', value: 'always', backend: 'canary' },
            { cookie: 'canary', value: 'always', backend: 'canary' },
          ],
        }),
        // The same backends without any of it: the difference shows in the output.
        bare: bareSplit(backends, { rule: 'Host(`bare.localhost`)', entryPoints: ['web'] }),
      },
    });
    ({ traefik, service } = await startTraefikThenService(
      { providerToken: PROVIDER_TOKEN, pollInterval: '1s', throttle: '200ms', logLevel: 'INFO' },
      () => ({ REDIS_URL: redis.url, KEY_PREFIX: prefix, SPLITS_FILE: splits.file }),
    ));
    for (const host of ['guarded.localhost', 'bare.localhost']) {
      await waitUntilShare(
        `Traefik to route ${host} to both backends`,
        { webUrl: traefik.webUrl, host, backend: 'canary', sample: 20 },
        (canaryShare) => canaryShare > 0,
        60_000,
      );
    }
  });

  afterAll(() => stopInOrder(traefik, service, main, canary, redis, closeTraffic, splits?.remove));

  test('when the canary process dies for 5 s, then health checks and retry keep failures under 0.5 % and it gets its share back', async () => {
    const guarded = steadyLoad(traefik.webUrl, 'guarded.localhost');
    const bare = steadyLoad(traefik.webUrl, 'bare.localhost');
    await sleep(1_000);
    const before = { guarded: guarded.snapshot(), bare: bare.snapshot() };
    await canary.stop();
    await sleep(5_000);
    canary = await startBackend('canary', { port: canaryPort });
    await sleep(1_000);
    const g = await guarded.stop();
    const b = await bare.stop();
    const gw = windowOf(g, before.guarded);
    const bw = windowOf(b, before.bare);
    console.log(
      `canary down 5 s at 30 %: with health checks + retry ${gw.failed}/${gw.total} failed ` +
        `(${((100 * gw.failed) / gw.total).toFixed(2)} %); without ${bw.failed}/${bw.total} ` +
        `(${((100 * bw.failed) / bw.total).toFixed(2)} %); guarded answers ${JSON.stringify(g.byAnswer)}`,
    );
    expect(gw.total).toBeGreaterThan(200);
    expect(gw.failed / gw.total).toBeLessThanOrEqual(0.005);
    // Without checks and retry Traefik keeps sending the dead canary its share.
    expect(bw.failed / bw.total).toBeGreaterThan(0.05);

    // Back up: the active check brings it back into rotation with its share.
    await waitUntilShare(
      'the canary to get its share again',
      { webUrl: traefik.webUrl, host: 'guarded.localhost', backend: 'canary', sample: 100 },
      (canaryShare) => canaryShare > 0.15,
      20_000,
    );
  });

  test('when an override header or cookie is sent, then the canary answers at weight 0 and plain requests never reach it', async () => {
    const put = await api('PUT', '/api/v1/splits/guarded/weights', {
      weights: { main: 100, canary: 0 },
      reason: 'overrides at 0',
    });
    expect(put.status).toBe(200);
    await waitUntilShare(
      'Traefik to route guarded to main only',
      { webUrl: traefik.webUrl, host: 'guarded.localhost', backend: 'main', sample: 50 },
      (mainShare) => mainShare === 1,
    );
    const byHeader = new Set<string>();
    const byCookie = new Set<string>();
    const wrongCookie = new Set<string>();
    for (let i = 0; i < 30; i++) {
      byHeader.add(await hit(traefik.webUrl, 'guarded.localhost', { 'X-Canary': 'always' }));
      byCookie.add(
        await hit(traefik.webUrl, 'guarded.localhost', { Cookie: 'a=1; canary=always' }),
      );
      wrongCookie.add(await hit(traefik.webUrl, 'guarded.localhost', { Cookie: 'canary=never' }));
    }
    expect([...byHeader]).toEqual(['canary']);
    expect([...byCookie]).toEqual(['canary']);
    expect([...wrongCookie]).toEqual(['main']);
    expect(await share(traefik.webUrl, 'guarded.localhost', 'main', 100)).toBe(1);

    const back = await api('PUT', '/api/v1/splits/guarded/weights', {
      weights: { main: 70, canary: 30 },
      reason: 'back to 30',
    });
    expect(back.status).toBe(200);
    await waitUntilShare(
      'Traefik to route 30 % to the canary again',
      { webUrl: traefik.webUrl, host: 'guarded.localhost', backend: 'canary', sample: 50 },
      (canaryShare) => canaryShare > 0.1,
    );
  });

  test('when Redis dies, the provider dies and Redis holds invalid weights, then no request fails and the share stays', async () => {
    const run = steadyLoad(traefik.webUrl, 'guarded.localhost');
    const steps: string[] = [];
    await sleep(1_000);
    await redis.kill();
    steps.push('redis killed');
    await sleep(2_000);
    await redis.restart();
    await sleep(1_500);
    await service.kill();
    steps.push('provider killed');
    await sleep(2_000);
    await service.restart();
    await sleep(1_500);
    for (const [field, value] of [
      ['canary', 'inf'],
      ['canary', '-1'],
      ['main', 'abc'],
      ['canary', '2.5'],
    ]) {
      redis.cli('HSET', `${prefix}weights:guarded`, field, value);
      steps.push(`${field}=${value}`);
      await sleep(1_200);
      redis.cli('HSET', `${prefix}weights:guarded`, 'main', '70', 'canary', '30');
      await sleep(500);
    }
    redis.cli('HSET', `${prefix}weights:guarded`, 'main', '0', 'canary', '0');
    steps.push('all zero');
    await sleep(1_200);
    redis.cli('HSET', `${prefix}weights:guarded`, 'main', '70', 'canary', '30');
    await sleep(500);
    const t = await run.stop();
    const canaryShare = (t.byAnswer.canary ?? 0) / t.total;
    console.log(
      `faults (${steps.join(', ')}): ${t.failed}/${t.total} failed, canary share ` +
        `${(100 * canaryShare).toFixed(1)} % (configured 30 %), answers ${JSON.stringify(t.byAnswer)}`,
    );
    expect(t.total).toBeGreaterThan(500);
    expect(t.failed).toBe(0);
    // 30 % within 5 binomial standard deviations.
    const sigma = Math.sqrt((0.3 * 0.7) / t.total);
    expect(Math.abs(canaryShare - 0.3)).toBeLessThan(5 * sigma);
  });
});
