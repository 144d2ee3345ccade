import request from 'supertest';
import { sleep } from '../../scripts/lib/child-process';
import { startOwnRedisServer } from '../../scripts/lib/redis-process';
import { startServiceUnderTest, useServiceUnderTest } from '../helpers/service';
import { waitUntil } from '../../scripts/lib/ports';
import { ADMIN_AUTH } from '../helpers/admin-api-request';

describe('/api/v1 against a real redis-server', () => {
  // A fresh service per test; the snapshot and concurrency tests read its keys.
  const ctx = useServiceUnderTest({}, { each: true });

  /** Everything the service keeps in Redis for a split: compared before and after failed calls. */
  async function snapshot(split = 'council'): Promise<unknown> {
    const p = ctx.svc.prefix;
    const weightsType = await ctx.redis.type(`${p}weights:${split}`);
    return {
      weights:
        weightsType === 'hash' ? await ctx.redis.hgetall(`${p}weights:${split}`) : weightsType,
      events: await ctx.redis.xrange(`${p}events:${split}`, '-', '+'),
      recorded: await ctx.redis.get(`${p}recorded:${split}`),
    };
  }

  const servedCouncil = async (): Promise<Record<string, number>> => {
    const res = await request(ctx.svc.server).get('/traefik');
    const out: Record<string, number> = {};
    for (const s of res.body.http.services.council.weighted.services) out[s.name] = s.weight;
    return out;
  };

  describe('reads', () => {
    test('when listing, then every split is described with its served weights and shares', async () => {
      await ctx.redis.hset(`${ctx.svc.prefix}weights:council`, { main: '3', canary: '1' });
      await ctx.svc.provider.refresh();
      const res = await request(ctx.svc.server).get('/api/v1/splits').expect(200);
      expect(res.body.splits.map((s: { name: string }) => s.name)).toEqual(['council', 'search']);
      const council = res.body.splits[0];
      expect(council).toMatchObject({
        stable: 'main',
        canary: 'canary',
        weights: { stored: { main: 3, canary: 1 }, served: { main: 3, canary: 1 } },
        shares: { main: 75, canary: 25 },
        source: 'redis',
        valid: true,
        problems: [],
        stale: false,
      });
      expect(council.backends).toEqual([
        { name: 'canary', servers: ['http://127.0.0.1:9001'], version: '1.5.0' },
        { name: 'main', servers: ['http://127.0.0.1:9000'], version: '1.4.2' },
      ]);
    });

    test('when one split is read, then its ETag is in the header and the body', async () => {
      const res = await request(ctx.svc.server).get('/api/v1/splits/search').expect(200);
      expect(res.headers.etag).toBe(res.body.etag);
      expect(res.body.source).toBe('default');
      expect(res.body.weights).toEqual({
        stored: null,
        served: { blue: 100, green: 0, shadow: 0 },
      });
    });

    test('when stored weights are invalid, then the status says so and why', async () => {
      await ctx.redis.hset(`${ctx.svc.prefix}weights:council`, { main: '9', canary: 'x' });
      await ctx.svc.provider.refresh();
      const res = await request(ctx.svc.server).get('/api/v1/splits/council').expect(200);
      expect(res.body.valid).toBe(false);
      expect(res.body.weights.stored).toEqual({ main: 9, canary: 'x' });
      expect(res.body.problems).toEqual(['weight of "canary" is "x", not a non-negative integer']);
    });

    test('when the split is unknown, then 404 problem+json names the declared ones', async () => {
      const res = await request(ctx.svc.server).get('/api/v1/splits/nope').expect(404);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(JSON.parse(res.text).detail).toContain('declared: council, search');
    });
  });

  describe('writes', () => {
    test('when scaling to 25, then Redis, the response, the history and /traefik all agree', async () => {
      const res = await request(ctx.svc.server)
        .post('/api/v1/splits/council/scale')
        .set(ADMIN_AUTH)
        .set('X-Actor', 'alice')
        .send({ percent: 25, reason: 'green for 24h' })
        .expect(200);
      expect(await ctx.redis.hgetall(`${ctx.svc.prefix}weights:council`)).toEqual({
        main: '75',
        canary: '25',
      });
      expect(res.body.weights.served).toEqual({ main: 75, canary: 25 });
      expect(res.headers.etag).toBe(res.body.etag);
      expect(res.body.event).toMatchObject({
        action: 'scale',
        source: 'api',
        actor: 'alice',
        reason: 'green for 24h',
        before: null,
        after: { main: 75, canary: 25 },
      });
      expect(await servedCouncil()).toEqual({ 'council-canary': 25, 'council-main': 75 });
      const history = await request(ctx.svc.server)
        .get('/api/v1/splits/council/history')
        .expect(200);
      expect(history.body.events).toHaveLength(1);
      expect(history.body.events[0].id).toBe(res.body.event.id);
    });

    test('when setting weights, rolling back and promoting, then each writes every backend', async () => {
      await request(ctx.svc.server)
        .put('/api/v1/splits/council/weights')
        .set(ADMIN_AUTH)
        .send({ weights: { main: 60, canary: 40 } })
        .expect(200);
      expect(await ctx.redis.hgetall(`${ctx.svc.prefix}weights:council`)).toEqual({
        main: '60',
        canary: '40',
      });
      await request(ctx.svc.server)
        .post('/api/v1/splits/council/promote')
        .set(ADMIN_AUTH)
        .send({})
        .expect(200);
      expect(await ctx.redis.hgetall(`${ctx.svc.prefix}weights:council`)).toEqual({
        main: '0',
        canary: '100',
      });
      await request(ctx.svc.server)
        .post('/api/v1/splits/council/rollback')
        .set(ADMIN_AUTH)
        .expect(200);
      expect(await ctx.redis.hgetall(`${ctx.svc.prefix}weights:council`)).toEqual({
        main: '100',
        canary: '0',
      });
      const history = await request(ctx.svc.server)
        .get('/api/v1/splits/council/history?limit=2')
        .expect(200);
      expect(history.body.events.map((e: { action: string }) => e.action)).toEqual([
        'rollback',
        'promote',
      ]);
      expect(history.body.events[0].before).toEqual({ main: 0, canary: 100 });
      const metrics = (await request(ctx.svc.server).get('/metrics')).text;
      expect(metrics).toMatch(/swarm_rollback_events_total\{split="council",trigger="api"\} 1/);
      expect(metrics).toMatch(/swarm_weight_changes_total\{split="council",source="api"\} 3/);
      expect(metrics).toMatch(
        /swarm_canary_traffic_percentage\{split="council",backend="canary"\} 0/,
      );
    });

    test('when the CLI header is sent, then the event says source cli', async () => {
      const res = await request(ctx.svc.server)
        .post('/api/v1/splits/council/scale')
        .set(ADMIN_AUTH)
        .set('X-Change-Source', 'cli')
        .send({ percent: 5 })
        .expect(200);
      expect(res.body.event).toMatchObject({ source: 'cli', actor: 'cli' });
    });

    test('when If-Match names the current ETag, then the write happens and returns the new one', async () => {
      const current = await request(ctx.svc.server).get('/api/v1/splits/council').expect(200);
      const res = await request(ctx.svc.server)
        .post('/api/v1/splits/council/scale')
        .set(ADMIN_AUTH)
        .set('If-Match', current.headers.etag)
        .send({ percent: 10 })
        .expect(200);
      expect(res.headers.etag).not.toBe(current.headers.etag);
      const again = await request(ctx.svc.server).get('/api/v1/splits/council').expect(200);
      expect(again.headers.etag).toBe(res.headers.etag);
    });

    const scaleAsAdmin = (body: object) =>
      request(ctx.svc.server).post('/api/v1/splits/council/scale').set(ADMIN_AUTH).send(body);
    const putWeightsAsAdmin = (body: object) =>
      request(ctx.svc.server).put('/api/v1/splits/council/weights').set(ADMIN_AUTH).send(body);
    const failures: [string, () => request.Test, number, RegExp][] = [
      [
        'no token',
        () => request(ctx.svc.server).post('/api/v1/splits/council/scale').send({ percent: 5 }),
        401,
        /Authorization: Bearer/,
      ],
      [
        'a wrong token',
        () =>
          request(ctx.svc.server)
            .post('/api/v1/splits/council/scale')
            .set('Authorization', 'Bearer wrong-token-0123456789')
            .send({ percent: 5 }),
        401,
        /wrong/,
      ],
      [
        'an unknown split',
        () =>
          request(ctx.svc.server)
            .post('/api/v1/splits/nope/scale')
            .set(ADMIN_AUTH)
            .send({ percent: 5 }),
        404,
        /not declared/,
      ],
      ['percent above 100', () => scaleAsAdmin({ percent: 101 }), 400, /percent/],
      ['a fractional percent', () => scaleAsAdmin({ percent: 2.5 }), 400, /integer/],
      ['an unknown field', () => scaleAsAdmin({ percent: 5, force: true }), 400, /force/],
      [
        'a weight string',
        () => putWeightsAsAdmin({ weights: { main: '5', canary: 5 } }),
        400,
        /weights\.main/,
      ],
      [
        'an unknown backend',
        () => putWeightsAsAdmin({ weights: { main: 5, canary: 5, blue: 1 } }),
        400,
        /weights\.blue/,
      ],
      [
        'a missing backend',
        () => putWeightsAsAdmin({ weights: { main: 5 } }),
        400,
        /weights\.canary/,
      ],
      [
        'all weights zero',
        () => putWeightsAsAdmin({ weights: { main: 0, canary: 0 } }),
        400,
        /above 0/,
      ],
      [
        'a body that is not JSON',
        () =>
          request(ctx.svc.server)
            .post('/api/v1/splits/council/scale')
            .set(ADMIN_AUTH)
            .set('Content-Type', 'application/json')
            .send('{"percent":'),
        400,
        /not valid JSON/,
      ],
      [
        'a text body',
        () =>
          request(ctx.svc.server)
            .post('/api/v1/splits/council/scale')
            .set(ADMIN_AUTH)
            .set('Content-Type', 'text/plain')
            .send('percent=5'),
        415,
        /application\/json/,
      ],
      [
        'a body over 16 KiB',
        () => scaleAsAdmin({ percent: 5, reason: 'x'.repeat(17 * 1024) }),
        413,
        /16 KiB/,
      ],
      [
        'a stale If-Match',
        () =>
          request(ctx.svc.server)
            .post('/api/v1/splits/council/scale')
            .set(ADMIN_AUTH)
            .set('If-Match', '"0000000000000000000000000000000000000000"')
            .send({ percent: 5 }),
        412,
        /changed since/,
      ],
    ];

    test.each(failures)(
      'when the request has %s, then it fails with the status and writes nothing',
      async (_label, send, status, detail) => {
        await ctx.redis.hset(`${ctx.svc.prefix}weights:council`, { main: '90', canary: '10' });
        await ctx.svc.provider.refresh();
        const before = await snapshot();
        const res = await send();
        expect(res.status).toBe(status);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        const problem = JSON.parse(res.text);
        expect(problem.status).toBe(status);
        expect(problem.type).toMatch(/^https:\/\//);
        expect(`${problem.detail} ${JSON.stringify(problem.errors ?? [])}`).toMatch(detail);
        expect(await snapshot()).toEqual(before);
      },
    );

    test('when ADMIN_TOKEN is not set, then writes are refused with how to set it', async () => {
      const other = await startServiceUnderTest({
        redisUrl: ctx.redisServer.url,
        env: { ADMIN_TOKEN: '' },
      });
      try {
        const res = await request(other.server)
          .post('/api/v1/splits/council/rollback')
          .set(ADMIN_AUTH)
          .expect(401);
        expect(JSON.parse(res.text).detail).toMatch(/set ADMIN_TOKEN/);
        expect(await ctx.redis.exists(`${other.prefix}weights:council`)).toBe(0);
      } finally {
        await other.stop();
      }
    });

    test('when Redis is down, then a write answers 503 and claims nothing', async () => {
      const own = await startOwnRedisServer();
      const other = await startServiceUnderTest({ redisUrl: own.url });
      try {
        await own.kill();
        const res = await request(other.server)
          .post('/api/v1/splits/council/scale')
          .set(ADMIN_AUTH)
          .send({ percent: 50 })
          .expect(503);
        expect(JSON.parse(res.text).detail).toMatch(/nothing was changed/);
        await own.restart();
        await waitUntil(
          'Redis back',
          async () => (await request(other.server).get('/ready')).status === 200,
          10_000,
        );
        expect(own.cli('HGETALL', `${other.prefix}weights:council`).trim()).toBe('');
      } finally {
        await other.stop();
        await own.stop();
      }
    });
  });

  describe('concurrency and atomicity', () => {
    test('when 200 scale requests race with the same If-Match, then exactly the accepted ones are in the history', async () => {
      const start = await request(ctx.svc.server).get('/api/v1/splits/council').expect(200);
      let etag = String(start.headers.etag);
      const results: { status: number; percent: number; etag?: string; id?: string }[] = [];
      // Waves of 20 concurrent requests carrying the ETag each client last saw.
      for (let wave = 0; wave < 10; wave++) {
        const seen = etag;
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) => {
            const percent = (wave * 20 + i) % 101;
            return request(ctx.svc.server)
              .post('/api/v1/splits/council/scale')
              .set(ADMIN_AUTH)
              .set('If-Match', seen)
              .send({ percent })
              .then((res) => ({
                status: res.status,
                percent,
                etag: res.headers.etag as string | undefined,
                id: res.body.event?.id as string | undefined,
              }));
          }),
        );
        results.push(...answers);
        const winner = answers.find((a) => a.status === 200);
        if (winner?.etag) etag = winner.etag;
      }
      const accepted = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status === 412);
      expect(accepted.length + refused.length).toBe(200);
      expect(accepted).toHaveLength(10); // one winner per wave: the others named an old version
      const history = await request(ctx.svc.server)
        .get('/api/v1/splits/council/history?limit=1000')
        .expect(200);
      expect(history.body.events.map((e: { id: string }) => e.id).reverse()).toEqual(
        accepted.map((a) => a.id),
      );
      const last = accepted[accepted.length - 1];
      expect(await ctx.redis.hgetall(`${ctx.svc.prefix}weights:council`)).toEqual({
        main: String(100 - last.percent),
        canary: String(last.percent),
      });
    });

    test('when 200 scale requests carry the same If-Match at once, then exactly one is accepted and recorded', async () => {
      const start = await request(ctx.svc.server).get('/api/v1/splits/council').expect(200);
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          request(ctx.svc.server)
            .post('/api/v1/splits/council/scale')
            .set(ADMIN_AUTH)
            .set('If-Match', String(start.headers.etag))
            .send({ percent: i % 101 })
            .then((res) => ({
              status: res.status,
              percent: i % 101,
              id: res.body.event?.id as string | undefined,
            })),
        ),
      );
      const accepted = answers.filter((a) => a.status === 200);
      expect(accepted).toHaveLength(1);
      expect(answers.filter((a) => a.status === 412)).toHaveLength(199);
      const events = await ctx.redis.xrange(`${ctx.svc.prefix}events:council`, '-', '+');
      expect(events.map(([id]) => id)).toEqual([accepted[0].id]);
      expect(await ctx.redis.hgetall(`${ctx.svc.prefix}weights:council`)).toEqual({
        main: String(100 - accepted[0].percent),
        canary: String(accepted[0].percent),
      });
    });

    test('when the audit event cannot be appended, then the hash is not written either', async () => {
      // The events key holding a non-stream makes XADD fail inside the script. The script checks
      // and reads first, so the failure must leave the hash as it was.
      await ctx.redis.hset(`${ctx.svc.prefix}weights:council`, { main: '90', canary: '10' });
      await ctx.redis.set(`${ctx.svc.prefix}recorded:council`, '6:canary=2:10\n4:main=2:90\n');
      await ctx.redis.set(`${ctx.svc.prefix}events:council`, 'not a stream');
      const res = await request(ctx.svc.server)
        .post('/api/v1/splits/council/scale')
        .set(ADMIN_AUTH)
        .send({ percent: 50 });
      // Redis is fine and the data is not: a conflict that names the key, not a 5xx.
      expect(res.status).toBe(409);
      expect(JSON.parse(res.text).title).toBe('CORRUPT_DATA');
      expect(JSON.parse(res.text).detail).toContain(
        `holds the wrong type, nothing was changed; check it with \`redis-cli TYPE ${ctx.svc.prefix}events:council\``,
      );
      expect(await ctx.redis.hgetall(`${ctx.svc.prefix}weights:council`)).toEqual({
        main: '90',
        canary: '10',
      });
    });
  });

  describe('external changes', () => {
    test('when redis-cli changes weights with two services running, then exactly one external event is recorded', async () => {
      const second = await startServiceUnderTest({
        redisUrl: ctx.redisServer.url,
        prefix: ctx.svc.prefix,
      });
      try {
        ctx.redisServer.cli(
          'HSET',
          `${ctx.svc.prefix}weights:council`,
          'main',
          '50',
          'canary',
          '50',
        );
        await waitUntil('both replicas serve 50 %', async () => {
          const a = ctx.svc.provider.state('council')?.served.canary;
          const b = second.provider.state('council')?.served.canary;
          return a === 50 && b === 50;
        });
        await waitUntil(
          'the external event',
          async () => (await ctx.redis.xlen(`${ctx.svc.prefix}events:council`)) > 0,
        );
        await sleep(300); // time for a second, wrong, recording
        await ctx.svc.provider.refresh();
        await second.provider.refresh();
        const events = await ctx.redis.xrange(`${ctx.svc.prefix}events:council`, '-', '+');
        expect(events).toHaveLength(1);
        const history = await request(ctx.svc.server)
          .get('/api/v1/splits/council/history')
          .expect(200);
        expect(history.body.events[0]).toMatchObject({
          action: 'external',
          source: 'external',
          before: null,
          after: { main: 50, canary: 50 },
        });

        // Emergency zeroing by hand: one more event, and it counts as a rollback.
        ctx.redisServer.cli('HSET', `${ctx.svc.prefix}weights:council`, 'canary', '0');
        await waitUntil(
          'two events',
          async () => (await ctx.redis.xlen(`${ctx.svc.prefix}events:council`)) === 2,
        );
        await sleep(200);
        expect(await ctx.redis.xlen(`${ctx.svc.prefix}events:council`)).toBe(2);
        const metricsA = (await request(ctx.svc.server).get('/metrics')).text;
        const metricsB = (await request(second.server).get('/metrics')).text;
        const count = (text: string) =>
          Number(
            /swarm_rollback_events_total\{split="council",trigger="external"\} (\d+)/.exec(
              text,
            )?.[1] ?? 0,
          );
        expect(count(metricsA) + count(metricsB)).toBe(1);
      } finally {
        await second.stop();
      }
    });

    test('when an external change precedes an API write, then the history shows both in order', async () => {
      await request(ctx.svc.server)
        .post('/api/v1/splits/council/scale')
        .set(ADMIN_AUTH)
        .send({ percent: 5 })
        .expect(200);
      await ctx.svc.stop();
      ctx.redisServer.cli('HSET', `${ctx.svc.prefix}weights:council`, 'canary', '0'); // no service running
      ctx.svc = await startServiceUnderTest({
        redisUrl: ctx.redisServer.url,
        prefix: ctx.svc.prefix,
      });
      await request(ctx.svc.server)
        .post('/api/v1/splits/council/scale')
        .set(ADMIN_AUTH)
        .send({ percent: 25 })
        .expect(200);
      const history = await request(ctx.svc.server)
        .get('/api/v1/splits/council/history')
        .expect(200);
      expect(
        history.body.events.map((e: { action: string; after: unknown }) => [e.action, e.after]),
      ).toEqual([
        ['scale', { main: 75, canary: 25 }],
        ['external', { main: 95, canary: 0 }],
        ['scale', { main: 95, canary: 5 }],
      ]);
    });
  });
});

afterAll(async () => {
  const { getGlobalDispatcher } = await import('undici');
  await getGlobalDispatcher().close();
});
