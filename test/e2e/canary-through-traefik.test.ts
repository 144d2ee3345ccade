/**
 * The product end to end: redis-server, the built service, two backends that name themselves and
 * the real Traefik polling the service every second. Every claim the README makes about routing is
 * checked here with real requests.
 */
import { Agent, request } from 'undici';
import { adminApiRequest } from '../helpers/admin-api-request';
import { adminEnvFor } from '../helpers/cli-fixtures';
import { startBackend, type BackendHandle } from '../../scripts/lib/backend-server';
import { freePort, waitUntil } from '../../scripts/lib/ports';
import { traefikServiceView, waitUntilRouted } from '../helpers/routing-probe';
import { stopInOrder } from '../helpers/stop-in-order';
import { startTraefikThenService } from '../helpers/traefik-then-service';
import {
  startRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import {
  ensureCliBuilt,
  runCli,
  startServiceProcess,
  type ServiceProcess,
} from '../helpers/service';
import { routedCouncil, writeSplitsFile } from '../helpers/splits-file';
import { startTraefik, type TraefikHandle } from '../../scripts/lib/traefik-process';
import { closeTraffic } from '../../scripts/lib/traffic';
import { sleep } from '../../scripts/lib/child-process';

jest.setTimeout(120_000);

const PROVIDER_TOKEN = 'e2e-provider-token-0123456789';
const POLL_MS = 1_000;
const THROTTLE_MS = 200;
/** The bound for a change to reach routing: pollInterval + throttle + 1 s. */
const APPLY_BOUND_MS = POLL_MS + THROTTLE_MS + 1_000;

const agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });

interface Routed {
  status: number;
  backend: string;
  setCookie?: string;
}

describe('canary routing through a real Traefik', () => {
  let redis: RedisServerHandle;
  let main: BackendHandle;
  let canary: BackendHandle;
  let service: ServiceProcess;
  let traefik: TraefikHandle;
  let splits: ReturnType<typeof writeSplitsFile>;
  const prefix = uniquePrefix('e2e');

  async function route(host: string, cookie?: string): Promise<Routed> {
    const res = await request(`${traefik.webUrl}/`, {
      dispatcher: agent,
      headers: { Host: host, ...(cookie && { Cookie: cookie }) },
    });
    const text = await res.body.text();
    const setCookie = res.headers['set-cookie'];
    return {
      status: res.statusCode,
      backend:
        res.statusCode === 200
          ? (JSON.parse(text) as { backend: string }).backend
          : `status ${res.statusCode}`,
      ...(setCookie && {
        setCookie: String(Array.isArray(setCookie) ? setCookie[0] : setCookie).split(';')[0],
      }),
    };
  }

  async function tally(n: number, host = 'council.localhost'): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const r = await route(host);
      counts[r.backend] = (counts[r.backend] ?? 0) + 1;
    }
    return counts;
  }

  /**
   * 300 requests as soon as a part went down, and 300 more once Traefik has polled the provider
   * again (`laterMs` on): what users saw while it was down.
   */
  async function tallyThroughOutage(laterMs: number) {
    const during = await tally(300);
    await sleep(laterMs);
    return { during, later: await tally(300) };
  }

  /** The requests of a tally that one of the two backends answered. */
  const answeredByBackends = (counts: Record<string, number>) =>
    (counts.main ?? 0) + (counts.canary ?? 0);

  const cli = (...args: string[]) => runCli(args, adminEnvFor(service));

  const api = (method: 'GET' | 'POST', p: string, body?: unknown) =>
    adminApiRequest(service.url, method, p, body);

  /** GET /traefik with the provider token, as Traefik's HTTP provider polls it. */
  const pollAsTraefik = () =>
    request(`${service.url}/traefik`, { headers: { Authorization: `Bearer ${PROVIDER_TOKEN}` } });

  /** Sends requests until `predicate` holds for one answer; returns ms from `since`. */
  async function msUntilRouted(
    host: string,
    predicate: (r: Routed) => boolean,
    since: number,
    limitMs = 15_000,
  ) {
    for (;;) {
      const r = await route(host);
      if (predicate(r)) return Date.now() - since;
      if (Date.now() - since > limitMs)
        throw new Error(`not routed as expected within ${limitMs} ms`);
    }
  }

  /** Ms from `since` to the first of `streak` consecutive answers from `backend`. */
  async function msUntilOnly(
    host: string,
    backend: string,
    since: number,
    limitMs = 15_000,
    streak = 30,
  ) {
    let firstOfStreak = 0;
    let run = 0;
    for (;;) {
      const at = Date.now();
      const r = await route(host);
      if (r.backend === backend) {
        if (run === 0) firstOfStreak = at;
        run += 1;
        if (run >= streak) return firstOfStreak - since;
      } else {
        run = 0;
      }
      if (Date.now() - since > limitMs)
        throw new Error(`${backend} did not take all traffic within ${limitMs} ms`);
    }
  }

  beforeAll(async () => {
    await ensureCliBuilt();
    redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
    main = await startBackend('main');
    canary = await startBackend('canary');
    splits = writeSplitsFile({
      splits: {
        council: routedCouncil(main, canary, {}, { canaryVersion: '1.5.0' }),
        // A canary that references a service no provider defines, at weight 0: Traefik builds it anyway.
        ghost: {
          stable: 'main',
          canary: 'missing',
          backends: {
            main: { servers: [main.url] },
            missing: { service: 'does-not-exist@file' },
          },
          router: { rule: 'Host(`ghost.localhost`)', entryPoints: ['web'] },
        },
        sticky: routedCouncil(
          main,
          canary,
          {
            defaultWeights: { main: 50, canary: 50 },
            sticky: { cookie: { name: 'variant', httpOnly: true } },
          },
          { host: 'sticky.localhost' },
        ),
      },
    });
    ({ traefik, service } = await startTraefikThenService(
      {
        providerToken: PROVIDER_TOKEN,
        pollInterval: `${POLL_MS}ms`,
        throttle: `${THROTTLE_MS}ms`,
        logLevel: 'INFO',
      },
      (started) => ({
        REDIS_URL: redis.url,
        KEY_PREFIX: prefix,
        SPLITS_FILE: splits.file,
        TRAEFIK_API_URLS: started.apiUrl,
        TRAEFIK_POLL_INTERVAL_MS: '250',
      }),
    ));
    redis.cli('HSET', `${prefix}weights:council`, 'main', '95', 'canary', '5');
    await waitUntilRouted(traefik.webUrl, 'council.localhost');
    await waitUntil(
      'Traefik to apply 95/5',
      async () => {
        const { body } = await api('GET', '/api/v1/splits/council');
        return (body.traefik as { applied: boolean }[])[0]?.applied === true;
      },
      15_000,
      100,
    );
  });

  afterAll(() =>
    stopInOrder(traefik, service, main, canary, redis, agent, closeTraffic, splits?.remove),
  );

  test('a. when weights are 95/5, then the canary gets about 5 % of 2,000 requests', async () => {
    const n = 2_000;
    const counts = await tally(n);
    // Binomial bound: sd = sqrt(n p (1-p)) = sqrt(2000 * 0.05 * 0.95) ≈ 9.75; 5 sd ≈ 49 requests.
    // Traefik's weighted round robin is deterministic, so it lands far inside; a random 5 % would
    // leave this interval with probability < 1e-6.
    expect(counts.main + counts.canary).toBe(n);
    expect(counts.canary).toBeGreaterThanOrEqual(100 - 49);
    expect(counts.canary).toBeLessThanOrEqual(100 + 49);
  });

  test('c. when redis-cli zeroes the canary, then after the bound no request reaches it', async () => {
    const before = canary.requests();
    redis.cli('HSET', `${prefix}weights:council`, 'canary', '0');
    const wrote = Date.now();
    await sleep(APPLY_BOUND_MS);
    const atBound = canary.requests();
    const counts = await tally(500);
    expect(counts).toEqual({ main: 500 });
    expect(canary.requests()).toBe(atBound);
    expect(atBound - before).toBeGreaterThanOrEqual(0);
    expect(Date.now() - wrote).toBeGreaterThan(APPLY_BOUND_MS);
    // The change made outside the service is in the audit trail once.
    const history = await api('GET', '/api/v1/splits/council/history?limit=1');
    expect((history.body.events as { source: string; after: unknown }[])[0]).toMatchObject({
      source: 'external',
      after: { main: 95, canary: 0 },
    });
  });

  test('b. when canaryctl scales to 25, then routing follows within pollInterval + throttle + 1 s', async () => {
    const wrote = Date.now();
    const run = await cli('scale', 'council', '25', '--reason', 'e2e');
    expect(run.code).toBe(0);
    const ms = await msUntilRouted('council.localhost', (r) => r.backend === 'canary', wrote);
    console.log(`write to first canary response: ${ms} ms (bound ${APPLY_BOUND_MS} ms)`);
    expect(ms).toBeLessThanOrEqual(APPLY_BOUND_MS);
    const n = 1_000;
    const counts = await tally(n);
    // sd = sqrt(1000 * 0.25 * 0.75) ≈ 13.7; 5 sd ≈ 69 requests around 250.
    expect(counts.canary).toBeGreaterThanOrEqual(250 - 69);
    expect(counts.canary).toBeLessThanOrEqual(250 + 69);
  });

  test('h. Traefik API shows the weights served, and the service confirms it applied them', async () => {
    const body = await traefikServiceView(traefik.apiUrl, 'council');
    expect(body.weighted?.services).toEqual([
      { name: 'council-canary', weight: 25 },
      { name: 'council-main', weight: 75 },
    ]);
    const served = await pollAsTraefik();
    const config = (await served.body.json()) as {
      http: { services: Record<string, { weighted?: { services: unknown } }> };
    };
    expect(config.http.services.council.weighted?.services).toEqual(body.weighted?.services);
    const status = await api('GET', '/api/v1/splits/council');
    expect(status.body.traefik).toEqual([
      expect.objectContaining({
        traefik: traefik.apiUrl,
        applied: true,
        weights: { 'council-canary': 25, 'council-main': 75 },
      }),
    ]);
  });

  test('h. when a write asks ?wait=applied, then it answers once Traefik shows the new weights', async () => {
    const started = Date.now();
    const res = await api('POST', '/api/v1/splits/council/scale?wait=applied&timeout=10s', {
      percent: 50,
    });
    const took = Date.now() - started;
    expect(res.status).toBe(200);
    expect((res.body.traefik as { applied: boolean }[])[0].applied).toBe(true);
    const body = await traefikServiceView(traefik.apiUrl, 'council');
    expect(body.weighted?.services).toEqual([
      { name: 'council-canary', weight: 50 },
      { name: 'council-main', weight: 50 },
    ]);
    console.log(`write with ?wait=applied answered after ${took} ms`);
    const metrics = await (await request(`${service.url}/metrics`)).body.text();
    const count = Number(/swarm_provider_propagation_seconds_count (\d+)/.exec(metrics)?.[1]);
    expect(count).toBeGreaterThanOrEqual(2);
    expect(metrics).toMatch(/swarm_provider_traefik_applied\{split="council",traefik="[^"]+"\} 1/);
    expect(took).toBeLessThan(10_000);
  });

  test('h. when the weights change between two reads of Traefik, then the split view does not say the change is applied', async () => {
    // A second service that reads Traefik's API once a minute: its view of Traefik is from
    // before the write until the next read, and must be judged against what it serves now.
    const second = await startServiceProcess(await freePort(), {
      REDIS_URL: redis.url,
      KEY_PREFIX: prefix,
      SPLITS_FILE: splits.file,
      TRAEFIK_API_URLS: traefik.apiUrl,
      TRAEFIK_POLL_INTERVAL_MS: '60000',
    });
    type View = { applied: boolean; weights: Record<string, number> | null };
    const viewOf = async (): Promise<{ served: unknown; view: View }> => {
      const res = await request(`${second.url}/api/v1/splits/council`);
      const body = (await res.body.json()) as { weights: { served: unknown }; traefik: View[] };
      return { served: body.weights.served, view: body.traefik[0] };
    };
    try {
      const before = await viewOf();
      await waitUntil(
        'the first read of Traefik',
        async () => (await viewOf()).view.applied,
        10_000,
      );
      const seen = (await viewOf()).view.weights;
      const target = seen?.['council-canary'] === 15 ? 35 : 15;
      redis.cli(
        'HSET',
        `${prefix}weights:council`,
        'main',
        String(100 - target),
        'canary',
        String(target),
      );
      await waitUntil(
        'the second service to serve the new weights',
        async () => JSON.stringify((await viewOf()).served) !== JSON.stringify(before.served),
        10_000,
      );
      const after = await viewOf();
      expect(after.served).toEqual({ main: 100 - target, canary: target });
      // Its last read of Traefik is from before the write.
      expect(after.view.weights).toEqual(seen);
      expect(after.view.applied).toBe(false);
    } finally {
      await second.stop();
    }
  });

  test('h. when one listed Traefik never applies, then ?wait=applied answers 504 naming it, and the write stands', async () => {
    const lonely = await startTraefik({
      providerUrl: `http://127.0.0.1:${await freePort()}/traefik`, // nobody answers there
      pollInterval: `${POLL_MS}ms`,
      logLevel: 'ERROR',
    });
    const second = await startServiceProcess(await freePort(), {
      REDIS_URL: redis.url,
      KEY_PREFIX: prefix,
      SPLITS_FILE: splits.file,
      TRAEFIK_API_URLS: `${traefik.apiUrl},${lonely.apiUrl}`,
      TRAEFIK_POLL_INTERVAL_MS: '250',
    });
    try {
      const { status, body: problem } = await adminApiRequest<{ detail: string }>(
        second.url,
        'POST',
        '/api/v1/splits/council/scale?wait=applied&timeout=1500ms',
        { percent: 40 },
      );
      expect(status).toBe(504);
      expect(problem.detail).toContain(lonely.apiUrl);
      expect(problem.detail).not.toContain(`${traefik.apiUrl},`);
      expect(redis.cli('HGET', `${prefix}weights:council`, 'canary').trim()).toBe('40');
    } finally {
      await second.stop();
      await lonely.stop();
    }
  });

  test('d. when redis-server is down, then every request still succeeds; restarted, a new weight applies', async () => {
    await redis.kill();
    const { during, later } = await tallyThroughOutage(2 * POLL_MS);
    expect(answeredByBackends(during)).toBe(300);
    expect(answeredByBackends(later)).toBe(300);
    const stale = await pollAsTraefik();
    await stale.body.text();
    expect(stale.statusCode).toBe(200);
    expect(stale.headers['x-config-stale']).toBe('true');

    await redis.restart();
    await waitUntil(
      'the service to see Redis again',
      async () => (await request(`${service.url}/ready`)).statusCode === 200,
      15_000,
      100,
    );
    const wrote = Date.now();
    redis.cli('HSET', `${prefix}weights:council`, 'main', '100', 'canary', '0');
    const ms = await msUntilOnly('council.localhost', 'main', wrote);
    console.log(`after the Redis restart: write to routing ${ms} ms`);
    expect(ms).toBeLessThanOrEqual(APPLY_BOUND_MS);
    expect(await tally(200)).toEqual({ main: 200 });
  });

  test('e. when the service is killed, then every request still succeeds; restarted, it works again', async () => {
    redis.cli('HSET', `${prefix}weights:council`, 'main', '50', 'canary', '50');
    await sleep(APPLY_BOUND_MS);
    await service.kill();
    const { during, later } = await tallyThroughOutage(3 * POLL_MS);
    expect(answeredByBackends(during)).toBe(300);
    expect(answeredByBackends(later)).toBe(300);
    expect(later.canary).toBeGreaterThan(100); // still the 50/50 it had

    await service.restart();
    const wrote = Date.now();
    redis.cli('HSET', `${prefix}weights:council`, 'main', '100', 'canary', '0');
    // After failed polls Traefik's HTTP provider retries with exponential backoff,
    // so the first poll after a restart can come later than pollInterval.
    const ms = await msUntilOnly('council.localhost', 'main', wrote, 60_000);
    console.log(`service restarted: new weights routed after ${ms} ms`);
    expect(await tally(200)).toEqual({ main: 200 });
  });

  test('f. when a zero-weight backend references a missing service, then the route serves from stable', async () => {
    const counts = await tally(100, 'ghost.localhost');
    expect(counts).toEqual({ main: 100 });
    const body = await traefikServiceView(traefik.apiUrl, 'ghost');
    expect(body.status).toBe('enabled');
    expect(body.weighted?.services.map((s) => s.name)).toEqual(['ghost-main']);
  });

  test('g. when a client carries the sticky cookie, then it stays on its backend while weights change, and moves when its backend drops to 0', async () => {
    const clients: { cookie: string; backend: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const first = await route('sticky.localhost');
      expect(first.setCookie).toMatch(/^variant=/);
      clients.push({ cookie: String(first.setCookie), backend: first.backend });
    }
    const onCanary = clients.filter((c) => c.backend === 'canary');
    expect(onCanary.length).toBeGreaterThan(0);
    expect(onCanary.length).toBeLessThan(20);

    const shifted = await api('POST', '/api/v1/splits/sticky/scale?wait=applied&timeout=10s', {
      percent: 90,
    });
    expect(shifted.status).toBe(200);
    for (const c of clients) {
      for (let i = 0; i < 3; i++)
        expect((await route('sticky.localhost', c.cookie)).backend).toBe(c.backend);
    }

    const zeroed = await api('POST', '/api/v1/splits/sticky/scale?wait=applied&timeout=10s', {
      percent: 0,
    });
    expect(zeroed.status).toBe(200);
    for (const c of onCanary) {
      const r = await route('sticky.localhost', c.cookie);
      expect(r.backend).toBe('main');
    }
  });
});
