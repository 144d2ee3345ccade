/**
 * A cold start without Redis: the provider and a fresh Traefik start while Redis is down, with a
 * last-good snapshot on disk (written by an earlier run that set canary to 100). Traefik gets the
 * snapshot's routes and weights instead of nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { loadSplitsFile } from '../../src/config/splits';
import { readSnapshotFile, splitsHashOf } from '../../src/traefik/snapshot-file';
import { putWeights } from '../helpers/admin-api-request';
import { startBackend, type BackendHandle } from '../../scripts/lib/backend-server';
import { freePort, waitUntil } from '../../scripts/lib/ports';
import {
  startOwnRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import { startServiceProcess, type ServiceProcess } from '../helpers/service';
import { routedCouncil, writeSplitsFile } from '../helpers/splits-file';
import { startTraefik, type TraefikHandle } from '../../scripts/lib/traefik-process';
import { closeTraffic, routeOnce } from '../../scripts/lib/traffic';
import { waitUntilRouted } from '../helpers/routing-probe';
import { stopInOrder } from '../helpers/stop-in-order';

jest.setTimeout(180_000);

describe('a cold start with Redis down, through a real Traefik', () => {
  let redis: RedisServerHandle;
  let main: BackendHandle;
  let canary: BackendHandle;
  let service: ServiceProcess | undefined;
  let traefik: TraefikHandle | undefined;
  let splits: ReturnType<typeof writeSplitsFile>;
  let dataDir: string;

  beforeAll(async () => {
    redis = await startOwnRedisServer();
    main = await startBackend('main');
    canary = await startBackend('canary');
    splits = writeSplitsFile({
      splits: {
        council: routedCouncil(main, canary, { defaultWeights: { main: 100, canary: 0 } }),
      },
    });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-e2e-data-'));
  });

  afterAll(() =>
    stopInOrder(traefik, service, main, canary, redis, closeTraffic, splits?.remove, () =>
      fs.rmSync(dataDir, { recursive: true, force: true }),
    ),
  );

  test('when the provider and a fresh Traefik start while Redis is down, then Traefik routes by the snapshot (canary 100)', async () => {
    const env = {
      REDIS_URL: redis.url,
      KEY_PREFIX: uniquePrefix('e2e-snap'),
      SPLITS_FILE: splits.file,
      // The documented default: DATA_DIR/snapshot.json.
      DATA_DIR: dataDir,
      SNAPSHOT_FILE: '',
    };
    const file = path.join(dataDir, 'snapshot.json');

    // An earlier run, with Redis up: canary to 100, and the snapshot follows.
    const port = await freePort();
    service = await startServiceProcess(port, env);
    const put = await putWeights(service.url, 'council', { main: 0, canary: 100 });
    expect(put).toBe(200);
    const hash = splitsHashOf(loadSplitsFile(splits.file));
    await waitUntil(
      'the snapshot to hold canary 100',
      async () => {
        const r = await readSnapshotFile(file, hash);
        return r.kind === 'ok' && r.snapshot.served.council.canary === 100;
      },
      10_000,
      50,
    );
    await service.stop();
    service = undefined;
    await redis.kill();

    // The cold start: Redis is down, the provider starts, then a Traefik that has never seen it.
    service = await startServiceProcess(port, env);
    const ready = await request(`${service.url}/ready`);
    const readyBody = (await ready.body.json()) as { source?: string };
    expect(ready.statusCode).toBe(503);
    expect(readyBody.source).toBe('snapshot');
    traefik = await startTraefik({
      providerUrl: `${service.url}/traefik`,
      pollInterval: '1s',
      throttle: '200ms',
    });
    await waitUntilRouted(traefik.webUrl, 'council.localhost');
    const seen: string[] = [];
    for (let i = 0; i < 40; i++) seen.push(await routeOnce(traefik.webUrl, 'council.localhost'));
    expect(seen.filter((b) => b !== 'canary')).toEqual([]);
    expect(service.output()).toContain('serving the last-good snapshot until it answers');
  });
});
