import { Client, request } from 'undici';
import { sleep } from '../../scripts/lib/child-process';
import zlib from 'node:zlib';
import {
  startOwnRedisServer,
  startRedisServer,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import { startServiceUnderTest, type ServiceUnderTest } from '../helpers/service';
import { waitUntil } from '../../scripts/lib/ports';

/**
 * GET /traefik?watch=: held polls against a real redis-server. Each `Client` is one keep-alive
 * TCP connection, as Traefik's HTTP provider uses.
 */

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
  /** ms from sending to the whole answer. */
  took: number;
}

async function poll(
  client: Client,
  path: string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Answer> {
  const started = Date.now();
  const res = await client.request({ method: 'GET', path, headers, signal });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, bytes, took: Date.now() - started };
}

function weightsOf(bytes: Buffer): Record<string, number> {
  const config = JSON.parse(bytes.toString()) as {
    http: {
      services: Record<string, { weighted?: { services: { name: string; weight: number }[] } }>;
    };
  };
  const out: Record<string, number> = {};
  for (const s of config.http.services.council.weighted?.services ?? []) out[s.name] = s.weight;
  return out;
}

async function metric(svc: ServiceUnderTest, name: string): Promise<number> {
  const res = await request(`${svc.url}/metrics`);
  const text = await res.body.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Resolves with the promise's value, or 'pending' if it has not settled within `ms`. */
async function stillPending<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);
}

describe('GET /traefik?watch= (held polls) against a real redis-server', () => {
  let redisServer: RedisServerHandle;
  let svc: ServiceUnderTest;
  const clients: Client[] = [];
  const connect = (): Client => {
    const c = new Client(svc.url, { bodyTimeout: 0, headersTimeout: 0 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    redisServer = await startRedisServer();
  });
  afterAll(async () => {
    await redisServer.stop();
  });
  beforeEach(async () => {
    svc = await startServiceUnderTest({ redisUrl: redisServer.url });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.destroy()));
    await svc.stop();
  });

  /** Two `?watch=` polls on a new connection: the first fetches the body, the second holds on it. */
  const pollTwice = async (watch: string): Promise<{ first: Answer; second: Answer }> => {
    const c = connect();
    const first = await poll(c, `/traefik?watch=${watch}`);
    const second = await poll(c, `/traefik?watch=${watch}`);
    return { first, second };
  };

  const setWeights = (main: number, canary: number): void => {
    redisServer.cli(
      'HSET',
      `${svc.prefix}weights:council`,
      'main',
      String(main),
      'canary',
      String(canary),
    );
  };

  test('when a connection already has the current body, then its watch poll is held until redis-cli changes the weights', async () => {
    const c = connect();
    const first = await poll(c, '/traefik?watch=30s');
    expect(first.status).toBe(200);
    expect(first.took).toBeLessThan(10_000);
    expect(weightsOf(first.bytes)).toEqual({ 'council-main': 100 });

    const held = poll(c, '/traefik?watch=30s');
    expect(await stillPending(held, 400)).toBe('pending');
    expect(await metric(svc, 'swarm_provider_held_polls')).toBe(1);

    setWeights(90, 10);
    const answer = await held;
    expect(answer.status).toBe(200);
    expect(weightsOf(answer.bytes)).toEqual({ 'council-main': 90, 'council-canary': 10 });
    expect(answer.headers.etag).not.toBe(first.headers.etag);
    expect(await metric(svc, 'swarm_provider_held_polls')).toBe(0);
    expect(await metric(svc, 'swarm_provider_held_poll_release_seconds_count')).toBe(1);
    const sum = await metric(svc, 'swarm_provider_held_poll_release_seconds_sum');
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(5);
  });

  test('when a hold outlasts HTTP_REQUEST_TIMEOUT_MS, then the poll is still answered 200 at the end of the hold', async () => {
    // Node checks request timeouts every 30 s (connectionsCheckingInterval) and only for requests
    // still being received: a held GET was received whole, so a 1 s request timeout must not cut a
    // 32 s hold that spans that check.
    await svc.stop();
    svc = await startServiceUnderTest({
      redisUrl: redisServer.url,
      env: { HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_HEADERS_TIMEOUT_MS: '1000' },
    });
    const { first, second } = await pollTwice('32s');
    expect(second.status).toBe(200);
    expect(second.took).toBeGreaterThanOrEqual(31_500);
    expect(second.bytes.equals(first.bytes)).toBe(true);
  }, 60_000);

  test('when the hold ends without a change, then the poll is answered 200 with the same body', async () => {
    const { first, second } = await pollTwice('600ms');
    expect(second.status).toBe(200);
    expect(second.took).toBeGreaterThanOrEqual(550);
    expect(second.bytes.equals(first.bytes)).toBe(true);
    expect(second.headers.etag).toBe(first.headers.etag);
    expect(await metric(svc, 'swarm_provider_held_polls')).toBe(0);
  });

  test('when a connection last received an older body, then its watch poll is answered at once with the new one', async () => {
    const c = connect();
    const first = await poll(c, '/traefik?watch=30s');
    setWeights(80, 20);
    await waitUntil(
      'the change to be served',
      async () => {
        const res = await request(`${svc.url}/traefik`);
        return (await res.body.text()) !== first.bytes.toString();
      },
      5_000,
      10,
    );
    const second = await stillPending(poll(c, '/traefik?watch=30s'), 5_000);
    expect(second).not.toBe('pending');
    expect(weightsOf((second as Answer).bytes)).toEqual({
      'council-main': 80,
      'council-canary': 20,
    });
  });

  test('when a watch poll comes on a new connection, then it is answered at once', async () => {
    await poll(connect(), '/traefik?watch=30s');
    const other = await stillPending(poll(connect(), '/traefik?watch=30s'), 5_000);
    expect(other).not.toBe('pending');
    expect((other as Answer).status).toBe(200);
  });

  test.each<[string, Record<string, string>]>([
    ['JSON', {}],
    ['gzip', { 'accept-encoding': 'gzip' }],
    ['YAML', { accept: 'application/yaml' }],
  ])(
    'when a held poll is released (%s), then its answer is byte-identical to an unheld one',
    async (_kind, headers) => {
      const c = connect();
      await poll(c, '/traefik?watch=30s', headers);
      const held = poll(c, '/traefik?watch=30s', headers);
      expect(await stillPending(held, 300)).toBe('pending');
      setWeights(70, 30);
      const released = await held;
      const unheld = await poll(connect(), '/traefik', headers);
      expect(released.status).toBe(200);
      expect(released.bytes.equals(unheld.bytes)).toBe(true);
      for (const h of ['etag', 'content-type', 'content-encoding', 'cache-control', 'vary']) {
        expect([h, released.headers[h]]).toEqual([h, unheld.headers[h]]);
      }
      if (headers['accept-encoding']) {
        expect(weightsOf(zlib.gunzipSync(released.bytes))).toEqual({
          'council-main': 70,
          'council-canary': 30,
        });
      }
    },
  );

  test('when a held poll carries If-None-Match of the current body, then the hold ends in 304, and a change in 200', async () => {
    const c = connect();
    const first = await poll(c, '/traefik?watch=30s');
    const etag = String(first.headers.etag);
    const expired = await poll(c, '/traefik?watch=500ms', { 'if-none-match': etag });
    expect(expired.status).toBe(304);
    expect(expired.bytes.length).toBe(0);
    const held = poll(c, '/traefik?watch=30s', { 'if-none-match': etag });
    expect(await stillPending(held, 300)).toBe('pending');
    setWeights(60, 40);
    const changed = await held;
    expect(changed.status).toBe(200);
    expect(weightsOf(changed.bytes)).toEqual({ 'council-main': 60, 'council-canary': 40 });
  });

  test.each(['forever', '-5s', '61s', '2m', '25', '1h', ''])(
    'when watch is %j, then 400 problem+json and nothing is held',
    async (value) => {
      const res = await request(`${svc.url}/traefik?watch=${encodeURIComponent(value)}`);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toBe('application/problem+json');
      const body = (await res.body.json()) as { type: string; status: number; detail: string };
      expect(body.type).toBe('https://traefik-canary-provider.dev/problems/validation-failed');
      expect(body.status).toBe(400);
      expect(body.detail).toMatch(/watch/);
      expect(await metric(svc, 'swarm_provider_held_polls')).toBe(0);
    },
  );

  test('when the service stops, then every held poll is answered at once with the current body', async () => {
    const conns = [connect(), connect(), connect()];
    const firsts = await Promise.all(conns.map((c) => poll(c, '/traefik?watch=60s')));
    const held = conns.map((c) => poll(c, '/traefik?watch=60s'));
    await waitUntil(
      'three held polls',
      async () => (await metric(svc, 'swarm_provider_held_polls')) === 3,
      5_000,
      20,
    );
    const stopping = svc.stop();
    const answers = await Promise.all(held);
    await stopping;
    for (const [i, a] of answers.entries()) {
      expect(a.status).toBe(200);
      expect(a.took).toBeLessThan(30_000);
      expect(a.bytes.equals(firsts[i].bytes)).toBe(true);
    }
    svc = await startServiceUnderTest({ redisUrl: redisServer.url });
  });

  test('when the provider token is set, then a watch poll without it is 401 and never held', async () => {
    await svc.stop();
    svc = await startServiceUnderTest({
      redisUrl: redisServer.url,
      env: { PROVIDER_TOKEN: 'provider-token-0123456789' },
    });
    const c = connect();
    const denied = await poll(c, '/traefik?watch=30s');
    expect(denied.status).toBe(401);
    const again = await stillPending(poll(c, '/traefik?watch=30s'), 3_000);
    expect(again).not.toBe('pending');
    expect((again as Answer).status).toBe(401);
    const auth = { authorization: 'Bearer provider-token-0123456789' };
    await poll(c, '/traefik?watch=30s', auth);
    const held = poll(c, '/traefik?watch=30s', auth);
    expect(await stillPending(held, 300)).toBe('pending');
    setWeights(50, 50);
    expect(weightsOf((await held).bytes)).toEqual({ 'council-main': 50, 'council-canary': 50 });
  });

  test('when the client closes a held poll, then the service warns that pollTimeout is shorter than the hold', async () => {
    const c = connect();
    await poll(c, '/traefik?watch=30s');
    const abort = new AbortController();
    const held = poll(c, '/traefik?watch=30s', {}, abort.signal).catch((err: Error) => err);
    await waitUntil(
      'a held poll',
      async () => (await metric(svc, 'swarm_provider_held_polls')) === 1,
      5_000,
      20,
    );
    abort.abort();
    await held;
    await waitUntil(
      'the hold to be dropped',
      async () => (await metric(svc, 'swarm_provider_held_polls')) === 0,
      5_000,
      20,
    );
    const ready = await request(`${svc.url}/ready`);
    const body = (await ready.body.json()) as { status: string; warnings?: { code: string }[] };
    expect(body.status).toBe('ready');
    expect(body.warnings?.map((w) => w.code)).toEqual(['client-timeout-within-watch']);
    const text = await (await request(`${svc.url}/metrics`)).body.text();
    expect(text).toContain(
      'swarm_provider_hold_warnings_total{reason="client-timeout-within-watch"} 1',
    );
  });

  test('when polls on a connection come long after the previous answer, then the service warns that pollInterval defeats the hold', async () => {
    const c = connect();
    await poll(c, '/traefik?watch=30s');
    await sleep(2_300);
    setWeights(40, 60);
    await waitUntil(
      'the change to be served',
      async () =>
        weightsOf(Buffer.from(await (await request(`${svc.url}/traefik`)).body.arrayBuffer()))[
          'council-canary'
        ] === 60,
      5_000,
      20,
    );
    const late = await poll(c, '/traefik?watch=30s');
    expect(weightsOf(late.bytes)).toEqual({ 'council-main': 40, 'council-canary': 60 });
    const ready = await request(`${svc.url}/ready`);
    const body = (await ready.body.json()) as { warnings?: { code: string; detail: string }[] };
    expect(body.warnings?.map((w) => w.code)).toEqual(['poll-interval-exceeds-watch']);
    expect(body.warnings?.[0].detail).toMatch(/pollInterval/);
  });

  test('without watch, polls on one connection are answered at once as before', async () => {
    const c = connect();
    const first = await poll(c, '/traefik');
    const second = await stillPending(poll(c, '/traefik'), 3_000);
    expect(second).not.toBe('pending');
    expect((second as Answer).bytes.equals(first.bytes)).toBe(true);
    expect(await metric(svc, 'swarm_provider_held_polls')).toBe(0);
  });
});

describe('staleness when the Redis connection drops', () => {
  test('when redis-server is SIGKILLed, then within 100-300 ms polls say X-Config-Stale and /ready is 503', async () => {
    const own = await startOwnRedisServer();
    const svc = await startServiceUnderTest({
      redisUrl: own.url,
      env: { RESYNC_INTERVAL_MS: '30000' },
    });
    try {
      const before = await request(`${svc.url}/traefik`);
      await before.body.text();
      expect(before.headers['x-config-stale']).toBeUndefined();
      expect((await request(`${svc.url}/ready`)).statusCode).toBe(200);

      await own.kill();
      await sleep(150);
      const after = await request(`${svc.url}/traefik`);
      await after.body.text();
      const ready = await request(`${svc.url}/ready`);
      const readyBody = (await ready.body.json()) as { reasons: string[] };
      expect(after.statusCode).toBe(200);
      expect(after.headers['x-config-stale']).toBe('true');
      expect(ready.statusCode).toBe(503);
      expect(readyBody.reasons.join(' ')).toMatch(/Redis connection is down/);

      await own.restart();
      await waitUntil(
        'fresh weights again',
        async () => {
          const res = await request(`${svc.url}/traefik`);
          await res.body.text();
          return res.headers['x-config-stale'] === undefined;
        },
        10_000,
        50,
      );
      expect((await request(`${svc.url}/ready`)).statusCode).toBe(200);
    } finally {
      await svc.stop();
      await own.stop();
    }
  });
});
