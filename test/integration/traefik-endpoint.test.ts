import { spawnSync } from 'node:child_process';
import { request } from 'undici';
import YAML from 'yaml';
import { startOwnRedisServer } from '../../scripts/lib/redis-process';
import { useRedisServer } from '../helpers/redis-under-test';
import { SPLITS_DOCUMENT, startServiceUnderTest, useServiceUnderTest } from '../helpers/service';
import { waitUntil } from '../../scripts/lib/ports';

interface Served {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Served> {
  const res = await request(url, { headers });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

function weightsOf(body: string, split = 'council'): Record<string, number> {
  const config = JSON.parse(body) as {
    http: {
      services: Record<string, { weighted?: { services: { name: string; weight: number }[] } }>;
    };
  };
  const out: Record<string, number> = {};
  for (const s of config.http.services[split].weighted?.services ?? []) out[s.name] = s.weight;
  return out;
}

describe('GET /traefik against a real redis-server', () => {
  const redisCtx = useRedisServer();

  describe('with one service', () => {
    const ctx = useServiceUnderTest({}, { each: true, redis: redisCtx });

    test('when no weights are stored, then each split serves its defaultWeights', async () => {
      const res = await get(`${ctx.svc.url}/traefik`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(weightsOf(res.body)).toEqual({ 'council-main': 100 });
      expect(weightsOf(res.body, 'search')).toEqual({ 'search-blue@docker': 100 });
      expect(res.headers['x-config-stale']).toBeUndefined();
    });

    test('when redis-cli changes a weight, then the next response within 100 ms serves it', async () => {
      const before = await get(`${ctx.svc.url}/traefik`);
      const started = Date.now();
      ctx.redisServer.cli('HSET', `${ctx.svc.prefix}weights:council`, 'main', '95', 'canary', '5');
      let seenAt = 0;
      await waitUntil(
        'the new weights to be served',
        async () => {
          const res = await get(`${ctx.svc.url}/traefik`);
          if (res.body !== before.body) seenAt = Date.now();
          return seenAt > 0;
        },
        2_000,
        5,
      );
      const after = await get(`${ctx.svc.url}/traefik`);
      expect(weightsOf(after.body)).toEqual({ 'council-canary': 5, 'council-main': 95 });
      // redis-cli is a child process: the clock starts before it runs, so this bound is generous
      // to Redis, not to us. The benchmark measures the p99 precisely.
      expect(seenAt - started).toBeLessThan(100 + 150);
    });

    test('when the same state is served twice, then the bytes and the ETag are identical', async () => {
      await ctx.redis.hset(`${ctx.svc.prefix}weights:council`, { main: '75', canary: '25' });
      await waitUntil(
        '25 %',
        async () => weightsOf((await get(`${ctx.svc.url}/traefik`)).body)['council-canary'] === 25,
      );
      const a = await get(`${ctx.svc.url}/traefik`);
      await ctx.svc.provider.refresh();
      const b = await get(`${ctx.svc.url}/traefik`);
      expect(b.body).toBe(a.body);
      expect(b.headers.etag).toBe(a.headers.etag);
      const notModified = await get(`${ctx.svc.url}/traefik`, {
        'If-None-Match': String(a.headers.etag),
      });
      expect(notModified.status).toBe(304);
      expect(notModified.body).toBe('');
    });

    test('when YAML is asked for, then it decodes to the same configuration as the JSON', async () => {
      await ctx.redis.hset(`${ctx.svc.prefix}weights:council`, { main: '90', canary: '10' });
      await ctx.svc.provider.refresh();
      const json = await get(`${ctx.svc.url}/traefik`);
      const byQuery = await get(`${ctx.svc.url}/traefik?format=yaml`);
      const byAccept = await get(`${ctx.svc.url}/traefik`, { Accept: 'application/yaml' });
      expect(byQuery.headers['content-type']).toMatch(/yaml/);
      expect(byAccept.body).toBe(byQuery.body);
      expect(YAML.parse(byQuery.body)).toEqual(JSON.parse(json.body));
      expect(weightsOf(json.body)).toEqual({ 'council-canary': 10, 'council-main': 90 });
    });

    test('when gzip is accepted, then the body is gzip and decodes to the same bytes', async () => {
      const plain = await get(`${ctx.svc.url}/traefik`);
      const res = await request(`${ctx.svc.url}/traefik`, {
        headers: { 'Accept-Encoding': 'gzip' },
      });
      expect(res.headers['content-encoding']).toBe('gzip');
      const zlib = await import('node:zlib');
      const raw = Buffer.from(await res.body.arrayBuffer());
      expect(zlib.gunzipSync(raw).toString()).toBe(plain.body);
    });

    test.each([
      ['a weight that is not an integer', { canary: 'abc' }, /not a non-negative integer/],
      ['a negative weight', { canary: '-5' }, /not a non-negative integer/],
      ['a fractional weight', { canary: '2.5' }, /not a non-negative integer/],
      ['a weight above 1,000,000', { canary: '1000001' }, /above the maximum/],
      ['an unknown backend field', { canry: '50' }, /not a backend/],
      ['all weights zero', { main: '0', canary: '0' }, /every weight is 0/],
    ])(
      'when Redis holds %s, then council keeps its last valid weights and search is unaffected',
      async (_label, bad, problem) => {
        const key = `${ctx.svc.prefix}weights:council`;
        await ctx.redis.hset(key, { main: '80', canary: '20' });
        await ctx.redis.hset(`${ctx.svc.prefix}weights:search`, { blue: '60', green: '40' });
        await ctx.svc.provider.refresh();
        const invalidBefore = await metricValue(
          ctx.svc.url,
          'swarm_provider_invalid_weights_total',
          'council',
        );

        await ctx.redis
          .multi()
          .del(key)
          .hset(key, { main: '80', ...bad })
          .exec();
        await ctx.svc.provider.refresh();

        const res = await get(`${ctx.svc.url}/traefik`);
        expect(res.status).toBe(200);
        expect(weightsOf(res.body)).toEqual({ 'council-canary': 20, 'council-main': 80 });
        expect(weightsOf(res.body, 'search')).toEqual({
          'search-blue@docker': 60,
          'search-green@docker': 40,
        });
        const state = ctx.svc.provider.state('council');
        expect(state?.valid).toBe(false);
        expect(state?.source).toBe('last-valid');
        expect(state?.problems.join('\n')).toMatch(problem);
        expect(
          await metricValue(ctx.svc.url, 'swarm_provider_invalid_weights_total', 'council'),
        ).toBe(invalidBefore + 1);

        // The same bad data read again is not a new event: logged and counted once per change.
        await ctx.svc.provider.refresh();
        expect(
          await metricValue(ctx.svc.url, 'swarm_provider_invalid_weights_total', 'council'),
        ).toBe(invalidBefore + 1);
      },
    );

    test('when the key has the wrong type, then the split keeps its weights and says why', async () => {
      const key = `${ctx.svc.prefix}weights:council`;
      await ctx.redis.hset(key, { main: '70', canary: '30' });
      await ctx.svc.provider.refresh();
      await ctx.redis.multi().del(key).set(key, 'canary=100').exec();
      await ctx.svc.provider.refresh();
      const res = await get(`${ctx.svc.url}/traefik`);
      expect(weightsOf(res.body)).toEqual({ 'council-canary': 30, 'council-main': 70 });
      expect(ctx.svc.provider.state('council')?.problems).toEqual([
        'the key holds a string, expected a hash',
      ]);
    });

    test('when a split never had valid weights, then its invalid data leaves it on defaultWeights', async () => {
      await ctx.redis.hset(`${ctx.svc.prefix}weights:council`, { canary: 'lots' });
      await ctx.svc.provider.refresh();
      const res = await get(`${ctx.svc.url}/traefik`);
      expect(weightsOf(res.body)).toEqual({ 'council-main': 100 });
      expect(ctx.svc.provider.state('council')?.source).toBe('default');
    });

    test('when only the canary field is set to 0 on a missing key, then stable takes all traffic', async () => {
      ctx.redisServer.cli('HSET', `${ctx.svc.prefix}weights:council`, 'canary', '0');
      await ctx.svc.provider.refresh();
      expect(weightsOf((await get(`${ctx.svc.url}/traefik`)).body)).toEqual({
        'council-main': 100,
      });
    });
  });

  test('when PROVIDER_TOKEN is set, then /traefik needs it and answers 401 otherwise', async () => {
    const svc = await startServiceUnderTest({
      redisUrl: redisCtx.redisServer.url,
      env: { PROVIDER_TOKEN: 'provider-token-abcdefghij' },
    });
    try {
      const none = await get(`${svc.url}/traefik`);
      expect(none.status).toBe(401);
      expect(none.headers['content-type']).toMatch(/application\/problem\+json/);
      const wrong = await get(`${svc.url}/traefik`, {
        Authorization: 'Bearer provider-token-abcdefghiX',
      });
      expect(wrong.status).toBe(401);
      const right = await get(`${svc.url}/traefik`, {
        Authorization: 'Bearer provider-token-abcdefghij',
      });
      expect(right.status).toBe(200);
      expect(weightsOf(right.body)).toEqual({ 'council-main': 100 });
    } finally {
      await svc.stop();
    }
  });
});

describe('GET /traefik while Redis goes away', () => {
  test('when redis-server is killed, then the last good body is served with X-Config-Stale; restarted, fresh again', async () => {
    const redisServer = await startOwnRedisServer();
    const svc = await startServiceUnderTest({
      redisUrl: redisServer.url,
      env: { RESYNC_INTERVAL_MS: '100' },
    });
    try {
      redisServer.cli('HSET', `${svc.prefix}weights:council`, 'main', '95', 'canary', '5');
      await waitUntil(
        '5 %',
        async () => weightsOf((await get(`${svc.url}/traefik`)).body)['council-canary'] === 5,
      );
      const good = await get(`${svc.url}/traefik`);

      await redisServer.kill();
      await waitUntil(
        'the stale header',
        async () => (await get(`${svc.url}/traefik`)).headers['x-config-stale'] === 'true',
        5_000,
      );
      const stale = await get(`${svc.url}/traefik`);
      expect(stale.status).toBe(200);
      expect(stale.body).toBe(good.body);
      const ready = await get(`${svc.url}/ready`);
      expect(await metricValue(svc.url, 'swarm_provider_stale_serves_total')).toBeGreaterThan(0);
      expect(await metricValue(svc.url, 'swarm_provider_config_stale')).toBe(1);
      // The dropped connection is known at once, not after the readiness window.
      expect(ready.status).toBe(503);

      await redisServer.restart(); // an empty Redis: no persistence in the harness
      redisServer.cli('HSET', `${svc.prefix}weights:council`, 'main', '50', 'canary', '50');
      await waitUntil(
        'fresh weights after the restart',
        async () => {
          const res = await get(`${svc.url}/traefik`);
          return (
            res.headers['x-config-stale'] === undefined &&
            weightsOf(res.body)['council-canary'] === 50
          );
        },
        10_000,
      );
      // Tracking is set up again after the reconnect: a later write is seen without a resync.
      redisServer.cli('HSET', `${svc.prefix}weights:council`, 'main', '40', 'canary', '60');
      await waitUntil(
        '60 %',
        async () => weightsOf((await get(`${svc.url}/traefik`)).body)['council-canary'] === 60,
        2_000,
      );
    } finally {
      await svc.stop();
      await redisServer.stop();
    }
  });

  test('when Redis was never reachable, then /traefik answers 503 problem+json and /ready says why', async () => {
    const redisServer = await startOwnRedisServer();
    const url = redisServer.url;
    await redisServer.stop();
    const svc = await startServiceUnderTest({ redisUrl: url });
    try {
      const res = await get(`${svc.url}/traefik`);
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(JSON.parse(res.body).detail).toMatch(/no weights have been read from Redis yet/);
      const ready = await get(`${svc.url}/ready`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body).reasons.join(' ')).toMatch(/Redis has not answered/);
    } finally {
      await svc.stop();
    }
  });
});

async function metricValue(baseUrl: string, name: string, split?: string): Promise<number> {
  const text = (await get(`${baseUrl}/metrics`)).body;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (split !== undefined && !rest.includes(`split="${split}"`)) continue;
    return Number(line.split(' ').pop());
  }
  return 0;
}

// Keeps the binaries' presence explicit in the output when they are missing.
test('redis-cli is the real binary', () => {
  const r = spawnSync('redis-cli', ['--version'], { encoding: 'utf8' });
  expect(r.stdout).toMatch(/^redis-cli \d+\./);
  expect(Object.keys(SPLITS_DOCUMENT.splits)).toEqual(['council', 'search']);
});

afterAll(async () => {
  const { getGlobalDispatcher } = await import('undici');
  await getGlobalDispatcher().close();
});
