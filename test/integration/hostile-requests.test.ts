/**
 * Hostile requests and corrupt stored data against the real service and a real redis-server: each
 * answers a clear 4xx naming the problem, never a 5xx, and a refused write changes nothing.
 */
import zlib from 'node:zlib';
import request from 'supertest';
import { auditEventFields } from '../helpers/audit-event-fields';
import { SPLITS_DOCUMENT, useServiceUnderTest } from '../helpers/service';
import { ADMIN_AUTH } from '../helpers/admin-api-request';

const SPLITS = {
  splits: {
    ...SPLITS_DOCUMENT.splits,
    council: {
      ...SPLITS_DOCUMENT.splits.council,
      backends: {
        main: { servers: ['http://deploy:s3cret@127.0.0.1:9000'], version: '1.4.2' },
        canary: { servers: ['http://127.0.0.1:9001'], version: '1.5.0' },
      },
      rollout: {
        steps: [10, 100],
        bakeTime: '10m',
        analysisInterval: '10m',
        checks: [
          {
            name: 'errors',
            type: 'threshold',
            query: 'vector(0)',
            comparator: '>',
            threshold: 1,
          },
        ],
      },
    },
    web: {
      stable: 'main',
      canary: 'constructor',
      backends: { main: { service: 'm@docker' }, constructor: { service: 'c@docker' } },
      defaultWeights: { main: 100 },
    },
  },
};

describe('hostile requests and corrupt data', () => {
  const ctx = useServiceUnderTest({
    splits: SPLITS,
    env: { PROMETHEUS_URL: 'http://127.0.0.1:9' },
  });

  const snapshot = async (split = 'council') => ({
    weights: await ctx.redis.hgetall(`${ctx.svc.prefix}weights:${split}`),
    events: await ctx.redis.xlen(`${ctx.svc.prefix}events:${split}`).catch(() => 'not a stream'),
  });
  const etagOfCouncil = async (): Promise<string> =>
    (await request(ctx.svc.server).get('/api/v1/splits/council')).headers.etag as string;

  describe('If-Match', () => {
    beforeAll(async () => {
      const res = await request(ctx.svc.server)
        .put('/api/v1/splits/council/weights')
        .set(ADMIN_AUTH)
        .send({ weights: { main: 90, canary: 10 } });
      expect(res.status).toBe(200);
    });

    test.each(['""', '', '   ', 'W/""', 'nonsense'])(
      'when If-Match is %j, then the write is refused with 412 and nothing changes',
      async (header) => {
        const before = await snapshot();
        const res = await request(ctx.svc.server)
          .post('/api/v1/splits/council/scale')
          .set(ADMIN_AUTH)
          .set('If-Match', header)
          .send({ percent: 50 });
        expect(res.status).toBe(412);
        expect(res.headers.etag).toBe(await etagOfCouncil());
        expect(await snapshot()).toEqual(before);
      },
    );

    test('when If-Match is the current ETag made weak, then it does not match', async () => {
      const etag = await etagOfCouncil();
      const res = await request(ctx.svc.server)
        .post('/api/v1/splits/council/scale')
        .set(ADMIN_AUTH)
        .set('If-Match', `W/${etag}`)
        .send({ percent: 50 });
      expect(res.status).toBe(412);
    });

    test('when If-Match lists the current ETag among others, then the write happens', async () => {
      const etag = await etagOfCouncil();
      const res = await request(ctx.svc.server)
        .post('/api/v1/splits/council/scale')
        .set(ADMIN_AUTH)
        .set('If-Match', `"0000000000000000000000000000000000000000", ${etag}`)
        .send({ percent: 20 });
      expect(res.status).toBe(200);
      expect(res.body.weights.served).toEqual({ main: 80, canary: 20 });
    });

    test('when If-Match is * and the key is missing, then 412; when it exists, then the write happens', async () => {
      await ctx.redis.del(`${ctx.svc.prefix}weights:search`);
      const missing = await request(ctx.svc.server)
        .post('/api/v1/splits/search/rollback')
        .set(ADMIN_AUTH)
        .set('If-Match', '*');
      expect(missing.status).toBe(412);
      expect(await ctx.redis.exists(`${ctx.svc.prefix}weights:search`)).toBe(0);
      const exists = await request(ctx.svc.server)
        .post('/api/v1/splits/council/rollback')
        .set(ADMIN_AUTH)
        .set('If-Match', '*');
      expect(exists.status).toBe(200);
      expect(await ctx.redis.hgetall(`${ctx.svc.prefix}weights:council`)).toEqual({
        main: '100',
        canary: '0',
      });
    });
  });

  describe('malformed requests', () => {
    test.each(['%ZZ', '%E0%A4%A', '%C0%AF', '%'])(
      'when :name is %s, then 400 problem, with or without a token',
      async (name) => {
        for (const auth of [{}, ADMIN_AUTH]) {
          const res = await request(ctx.svc.server)
            .post(`/api/v1/splits/${name}/rollback`)
            .set(auth)
            .send({});
          expect([res.status, res.headers['content-type']]).toEqual([
            400,
            'application/problem+json; charset=utf-8',
          ]);
          expect(JSON.parse(res.text).detail).toMatch(/percent-encoded UTF-8/);
        }
        const get = await request(ctx.svc.server).get(`/api/v1/splits/${name}/history`);
        expect(get.status).toBe(400);
      },
    );

    // Sent with fetch: supertest would serialise a Buffer under a JSON content type.
    const post = (encoding: string, body: Buffer) =>
      fetch(`http://127.0.0.1:${ctx.svc.port}/api/v1/splits/council/scale`, {
        method: 'POST',
        headers: {
          ...ADMIN_AUTH,
          'Content-Type': 'application/json',
          'Content-Encoding': encoding,
        },
        body,
      });

    test.each(['gzip', 'br', 'deflate'])(
      'when a %s body does not decompress, then 400 and nothing changes',
      async (encoding) => {
        const before = await snapshot();
        const res = await post(encoding, Buffer.from('this is not compressed at all'));
        expect(res.status).toBe(400);
        const body = (await res.json()) as { title: string; detail: string };
        expect(body.title).toBe('VALIDATION_FAILED');
        expect(body.detail).toMatch(/does not decode as its Content-Encoding/);
        expect(await snapshot()).toEqual(before);
      },
    );

    test('when a gzip body is valid, then it is taken', async () => {
      const res = await post('gzip', zlib.gzipSync(JSON.stringify({ percent: 5 })));
      expect(res.status).toBe(200);
      const body = (await res.json()) as { weights: { served: unknown } };
      expect(body.weights.served).toEqual({ main: 95, canary: 5 });
    });

    test('when weights carry a __proto__ key, then it is refused, not dropped', async () => {
      const before = await snapshot();
      const res = await request(ctx.svc.server)
        .put('/api/v1/splits/council/weights')
        .set(ADMIN_AUTH)
        .set('Content-Type', 'application/json')
        .send('{"weights":{"main":50,"canary":50,"__proto__":{"x":1}}}');
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text).errors).toEqual([
        { path: 'weights.__proto__', message: 'is not a backend name' },
      ]);
      expect(await snapshot()).toEqual(before);
    });

    test('when a backend is named constructor and the body omits it, then it is required', async () => {
      const res = await request(ctx.svc.server)
        .put('/api/v1/splits/web/weights')
        .set(ADMIN_AUTH)
        .send({ weights: { main: 100 } });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text).errors).toEqual([
        { path: 'weights.constructor', message: 'is required: give every backend a weight' },
      ]);
      const ok = await request(ctx.svc.server)
        .put('/api/v1/splits/web/weights')
        .set(ADMIN_AUTH)
        .send({ weights: { main: 100, constructor: 0 } });
      expect(ok.status).toBe(200);
      expect(ok.body.weights.served).toEqual({ constructor: 0, main: 100 });
    });
  });

  describe('what the open status shows', () => {
    test('when a backend URL carries user:password, then /api/v1/splits redacts it', async () => {
      const res = await request(ctx.svc.server).get('/api/v1/splits/council');
      expect(res.body.backends[0]).toEqual({
        name: 'canary',
        servers: ['http://127.0.0.1:9001'],
        version: '1.5.0',
      });
      expect(res.body.backends[1].servers).toEqual(['http://***@127.0.0.1:9000']);
      expect((await request(ctx.svc.server).get('/api/v1/splits')).text).not.toContain('s3cret');
    });

    test('when a hash holds 10,000 fields, then the status stays small and says how many', async () => {
      const fields: Record<string, string> = {};
      for (let i = 0; i < 10_000; i++) fields[`junk${i}`] = 'x'.repeat(50);
      await ctx.redis.hset(`${ctx.svc.prefix}weights:search`, fields);
      await ctx.svc.provider.refresh(['search']);
      const res = await request(ctx.svc.server).get('/api/v1/splits/search');
      expect(res.status).toBe(200);
      expect(res.text.length).toBeLessThan(20_000);
      expect(res.body.weights.stored['…']).toBe('9950 more fields not listed');
      expect(res.body.problems.at(-1)).toBe('… and 9980 more fields not checked');
      await ctx.redis.del(`${ctx.svc.prefix}weights:search`);
      await ctx.svc.provider.refresh(['search']);
    });
  });

  describe('corrupt stored data', () => {
    test('when an event has details that are not JSON, then the history shows the rest and names it', async () => {
      await ctx.redis.xadd(
        `${ctx.svc.prefix}events:council`,
        '*',
        ...auditEventFields({
          action: 'set',
          source: 'api',
          actor: 'someone',
          reason: 'hand-made',
          before: '{"main":100,"canary":0}',
          after: '{not json',
          details: '{broken',
        }),
      );
      const res = await request(ctx.svc.server).get('/api/v1/splits/council/history?limit=2');
      expect(res.status).toBe(200);
      const [e] = res.body.events;
      expect(e).toMatchObject({
        actor: 'someone',
        reason: 'hand-made',
        before: { canary: 0, main: 100 },
        after: null,
        corrupt: ['after is not JSON: "{not json"', 'details is not a JSON object: "{broken"'],
      });
      expect(e.details).toBeUndefined();
      expect(res.body.events[1].corrupt).toBeUndefined();
    });

    test('when the events key is not a stream, then the history answers 409 naming the key, not 503', async () => {
      await ctx.redis.set(`${ctx.svc.prefix}events:search`, 'a string');
      const res = await request(ctx.svc.server).get('/api/v1/splits/search/history');
      expect(res.status).toBe(409);
      const body = JSON.parse(res.text);
      expect(body.title).toBe('CORRUPT_DATA');
      expect(body.detail).toContain(`redis-cli DEL ${ctx.svc.prefix}events:search`);
      await ctx.redis.del(`${ctx.svc.prefix}events:search`);
    });

    test('when the rollout state is not a rollout state, then GET …/rollout says so and how to clear it', async () => {
      const key = `${ctx.svc.prefix}rollout:council`;
      await ctx.redis.hset(key, { revision: '1', status: 'progressing', state: '{"nope":' });
      const res = await request(ctx.svc.server).get('/api/v1/splits/council/rollout');
      expect(res.status).toBe(409);
      const body = JSON.parse(res.text);
      expect(body.title).toBe('ROLLOUT_STATE_INVALID');
      expect(body.detail).toContain(key);
      expect(body.detail).toContain('delete the key');
      await ctx.redis.del(key);
    });

    test('when the rollout key is not a hash, then GET …/rollout answers 409 naming the problem, not 503', async () => {
      const key = `${ctx.svc.prefix}rollout:council`;
      await ctx.redis.set(key, 'a string');
      const res = await request(ctx.svc.server).get('/api/v1/splits/council/rollout');
      expect(res.status).toBe(409);
      const body = JSON.parse(res.text);
      expect(body.title).toBe('CORRUPT_DATA');
      expect(body.detail).toMatch(/holds the wrong type/);
      await ctx.redis.del(key);
    });
  });

  describe('rollout commands', () => {
    test.each(['pause', 'resume', 'promote', 'abort'])(
      'when %s is sent for a declared split with no rollout, then 409; for an unknown split, then 404',
      async (verb) => {
        await ctx.redis.del(`${ctx.svc.prefix}rollout:council`);
        const none = await request(ctx.svc.server)
          .post(`/api/v1/splits/council/rollout/${verb}`)
          .set(ADMIN_AUTH)
          .send({});
        expect(none.status).toBe(409);
        expect(JSON.parse(none.text).title).toBe('ROLLOUT_CONFLICT');
        expect(JSON.parse(none.text).detail).toContain(`nothing to ${verb}`);
        const unknown = await request(ctx.svc.server)
          .post(`/api/v1/splits/nope/rollout/${verb}`)
          .set(ADMIN_AUTH)
          .send({});
        expect(unknown.status).toBe(404);
      },
    );
  });

  describe('GET /traefik negotiation', () => {
    test('when If-None-Match names the ETag as weak, then 304', async () => {
      const first = await request(ctx.svc.server).get('/traefik');
      const etag = String(first.headers.etag);
      const weak = await request(ctx.svc.server).get('/traefik').set('If-None-Match', `W/${etag}`);
      expect(weak.status).toBe(304);
      const listed = await request(ctx.svc.server)
        .get('/traefik')
        .set('If-None-Match', `"other", W/${etag}`);
      expect(listed.status).toBe(304);
      const other = await request(ctx.svc.server).get('/traefik').set('If-None-Match', 'W/"other"');
      expect(other.status).toBe(200);
    });

    test('when Accept gives YAML q=0, then JSON; when YAML ranks above JSON, then YAML', async () => {
      const refused = await request(ctx.svc.server)
        .get('/traefik')
        .set('Accept', 'application/yaml;q=0, application/json');
      expect(refused.headers['content-type']).toBe('application/json; charset=utf-8');
      const lower = await request(ctx.svc.server)
        .get('/traefik')
        .set('Accept', 'application/json, application/yaml;q=0.5');
      expect(lower.headers['content-type']).toBe('application/json; charset=utf-8');
      const yaml = await request(ctx.svc.server)
        .get('/traefik')
        .set('Accept', 'application/json;q=0.5, application/yaml');
      expect(yaml.headers['content-type']).toBe('application/yaml; charset=utf-8');
    });

    test('when Accept-Encoding gives gzip q=0, then the body is not gzip', async () => {
      const refused = await request(ctx.svc.server)
        .get('/traefik')
        .set('Accept-Encoding', 'gzip;q=0, identity');
      expect(refused.headers['content-encoding']).toBeUndefined();
      const taken = await request(ctx.svc.server)
        .get('/traefik')
        .set('Accept-Encoding', 'gzip;q=0.8');
      expect(taken.headers['content-encoding']).toBe('gzip');
    });
  });
});
