/**
 * Held polls end to end: redis-server, the built service, two backends and two real Traefik
 * instances polling `?watch=8s` at pollInterval 1s, pollTimeout 10s. Plain polling alone would take
 * about half a second per write; the figures are printed, not asserted (the machine is shared).
 */
import { Agent, request } from 'undici';
import { adminApiRequest } from '../helpers/admin-api-request';
import { startBackend, type BackendHandle } from '../../scripts/lib/backend-server';
import { freePort, waitUntil } from '../../scripts/lib/ports';
import {
  startRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import { startServiceProcess, type ServiceProcess } from '../helpers/service';
import { routedCouncil, writeSplitsFile } from '../helpers/splits-file';
import {
  startTraefik,
  type StartTraefikOptions,
  type TraefikHandle,
} from '../../scripts/lib/traefik-process';
import { waitUntilRouted } from '../helpers/routing-probe';
import { stopInOrder } from '../helpers/stop-in-order';
import { closeTraffic } from '../../scripts/lib/traffic';
import { sleep } from '../../scripts/lib/child-process';

jest.setTimeout(180_000);

const PROVIDER_TOKEN = 'e2e-held-provider-token-0123456789';
/** Longer than the 8 s hold; HELD_IDLE_MS shortens or lengthens it. */
const IDLE_MS = Number(process.env.HELD_IDLE_MS ?? 20_000);

const agent = new Agent({ keepAliveTimeout: 10_000, connections: 4 });

/** Lines of Traefik's log that report a failed fetch of the HTTP provider's endpoint. */
function providerErrors(log: string): string[] {
  return log
    .split('\n')
    .filter(
      (l) =>
        /\bERR\b|level=error|"level":"error"/i.test(l) &&
        /providerName=http|http provider|cannot fetch|Provider/i.test(l),
    );
}

describe('held polls through two real Traefik instances', () => {
  let redis: RedisServerHandle;
  let main: BackendHandle;
  let canary: BackendHandle;
  let service: ServiceProcess;
  const traefiks: TraefikHandle[] = [];
  let splits: ReturnType<typeof writeSplitsFile>;
  let traefikOptions: StartTraefikOptions;
  const prefix = uniquePrefix('e2e-held');

  async function backendVia(t: TraefikHandle): Promise<string> {
    const res = await request(`${t.webUrl}/`, {
      dispatcher: agent,
      headers: { Host: 'council.localhost' },
    });
    const text = await res.body.text();
    return res.statusCode === 200
      ? (JSON.parse(text) as { backend: string }).backend
      : `status ${res.statusCode}`;
  }

  /** Ms from `since` until `t` routes to `backend` (all weight on it, so one answer tells). */
  async function msUntilRouted(t: TraefikHandle, backend: string, since: number): Promise<number> {
    for (;;) {
      if ((await backendVia(t)) === backend) return Date.now() - since;
      if (Date.now() - since > 15_000)
        throw new Error(`${t.webUrl} did not route to ${backend} within 15 s`);
      await sleep(2);
    }
  }

  async function heldPolls(): Promise<number> {
    const res = await request(`${service.url}/metrics`);
    const text = await res.body.text();
    return Number(/^swarm_provider_held_polls (\S+)$/m.exec(text)?.[1]);
  }

  const allOn = (backend: 'main' | 'canary'): void => {
    redis.cli(
      'HSET',
      `${prefix}weights:council`,
      'main',
      backend === 'main' ? '100' : '0',
      'canary',
      backend === 'canary' ? '100' : '0',
    );
  };

  const api = async (path: string): Promise<number> =>
    (await adminApiRequest(service.url, 'POST', path, { reason: 'held-poll e2e' })).status;

  const bothHeld = (): Promise<void> =>
    waitUntil(
      'both Traefik instances to be held',
      async () => (await heldPolls()) === 2,
      20_000,
      50,
    );

  beforeAll(async () => {
    redis = await startRedisServer();
    main = await startBackend('main');
    canary = await startBackend('canary');
    splits = writeSplitsFile({
      splits: {
        council: routedCouncil(main, canary),
      },
    });
    const servicePort = await freePort();
    service = await startServiceProcess(servicePort, {
      REDIS_URL: redis.url,
      KEY_PREFIX: prefix,
      SPLITS_FILE: splits.file,
      PROVIDER_TOKEN,
    });
    traefikOptions = {
      providerUrl: `${service.url}/traefik`,
      providerToken: PROVIDER_TOKEN,
      watch: '8s',
      pollInterval: '1s',
      pollTimeout: '10s',
      throttle: '200ms',
      logLevel: 'INFO',
    };
    traefiks.push(await startTraefik(traefikOptions), await startTraefik(traefikOptions));
    for (const t of traefiks)
      await waitUntilRouted(t.webUrl, 'council.localhost', { backend: 'main' });
    await bothHeld();
  });

  afterAll(() =>
    stopInOrder(...traefiks, service, main, canary, redis, agent, closeTraffic, splits?.remove),
  );

  test('when redis-cli and the API change the weights, then both Traefik instances route by them', async () => {
    const figures: string[] = [];
    for (let i = 0; i < 6; i++) {
      await bothHeld();
      const target = i % 2 === 0 ? 'canary' : 'main';
      const since = Date.now();
      if (i < 4) allOn(target);
      else
        expect(
          await api(`/api/v1/splits/council/${target === 'canary' ? 'promote' : 'rollback'}`),
        ).toBe(200);
      const ms = await Promise.all(traefiks.map((t) => msUntilRouted(t, target, since)));
      figures.push(`${i < 4 ? 'redis-cli' : 'API'} → ${target}: ${ms.join(' ms, ')} ms`);
      expect(ms).toHaveLength(2);
    }
    console.log(
      `write → routed by each Traefik (held polls, ?watch=8s, pollInterval 1s):\n  ${figures.join('\n  ')}`,
    );
  });

  test('when nothing changes for longer than the hold, then Traefik logs no provider error and keeps being held', async () => {
    const before = traefiks.map((t) => t.readLog().length);
    await sleep(IDLE_MS);
    const errors = traefiks.flatMap((t, i) => providerErrors(t.readLog().slice(before[i])));
    expect(errors).toEqual([]);
    expect(await heldPolls()).toBe(2);
    const res = await request(`${service.url}/ready`);
    const ready = (await res.body.json()) as { status: string; warnings?: unknown[] };
    expect(ready).toEqual({ status: 'ready' });
  });

  test('when a Traefik is restarted mid-hold, then it and the other route the next write', async () => {
    await bothHeld();
    await traefiks[1].kill();
    await traefiks[1].stop();
    traefiks[1] = await startTraefik(traefikOptions);
    await waitUntilRouted(traefiks[1].webUrl, 'council.localhost');
    await bothHeld();
    const current = await backendVia(traefiks[0]);
    const target = current === 'main' ? 'canary' : 'main';
    const since = Date.now();
    allOn(target);
    const ms = await Promise.all(traefiks.map((t) => msUntilRouted(t, target, since)));
    console.log(`after a Traefik restart, write → routed: ${ms.join(' ms, ')} ms`);
    expect(await Promise.all(traefiks.map((t) => backendVia(t)))).toEqual([target, target]);
  });

  test('when the provider is SIGTERMed mid-hold, then it releases both Traefik instances at once and exits', async () => {
    await bothHeld();
    const before = traefiks.map((t) => t.readLog().length);
    const pid = service.pid();
    expect(pid).toBeDefined();
    const since = Date.now();
    process.kill(pid!, 'SIGTERM');
    await waitUntil(
      'the service to exit',
      async () => {
        try {
          process.kill(pid!, 0);
          return false;
        } catch {
          return true;
        }
      },
      20_000,
      10,
    );
    const exitedMs = Date.now() - since;
    // Only a cut-off or timed-out held request would say EOF, reset or timeout; the polls after the
    // exit are refused, which is the provider being down, not the hold.
    const cut = traefiks.flatMap((t, i) =>
      t
        .readLog()
        .slice(before[i])
        .split('\n')
        .filter((l) => /EOF|connection reset|Client\.Timeout|deadline exceeded/i.test(l)),
    );
    console.log(`SIGTERM → provider exited with both held polls answered: ${exitedMs} ms`);
    expect(cut).toEqual([]);
    expect(exitedMs).toBeLessThan(9_000);
    // Traffic keeps flowing on the last configuration, and a restarted provider is held again.
    expect((await backendVia(traefiks[0])).startsWith('status')).toBe(false);
    await service.restart();
    await bothHeld();
  });
});
