import fs from 'node:fs';
import type { RequestListener } from 'node:http';
import path from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import YAML from 'yaml';
import { z } from 'zod';
import { NAME_PATTERN, rolloutStatusSchema } from '../../src/api-contract';
import { paths } from '../../src/api-contract/paths';
import { parseSplitsDocument } from '../../src/config/splits';
import { describeRollout } from '../../src/rollout/plan/rollout-status';
import { OPENAPI_PATH, renderOpenApi } from '../../scripts/lib/openapi-document';
import { ROOT } from '../../scripts/lib/build-dist';
import { freePort } from '../../scripts/lib/ports';
import { rolloutStateOf, stepsOf } from '../helpers/rollout-state';
import { startOwnRedisServer } from '../../scripts/lib/redis-process';
import { useRedisServer } from '../helpers/redis-under-test';
import {
  ROLLOUT_API_WITHOUT_CONTROLLER,
  SPLITS_DOCUMENT,
  startServiceUnderTest,
  useServiceUnderTest,
} from '../helpers/service';
import { ADMIN_AUTH } from '../helpers/admin-api-request';

/**
 * The contract (src/api-contract) against the app and docs/openapi.yaml: the committed document is
 * the contract's rendering, the same routes are served and documented, and real answers match the
 * contract's schemas.
 */

type Json = Record<string, unknown>;

const DOC_FILE = path.join(ROOT, OPENAPI_PATH);
const committed = fs.readFileSync(DOC_FILE, 'utf8');
const doc = YAML.parse(committed) as {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { parameters: Record<string, { schema: { pattern?: string } }> };
};
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

/** `GET /api/v1/splits/{name}` for every operation in the contract. */
function documentedOperations(): Set<string> {
  const ops = new Set<string>();
  for (const [p, item] of Object.entries(paths)) {
    for (const method of METHODS)
      if (item[method] !== undefined) ops.add(`${method.toUpperCase()} ${p}`);
  }
  return ops;
}

interface ListedRoute {
  path: unknown;
  methods: string[] | undefined;
  router: { listRoutes?: () => ListedRoute[] } | undefined;
}

/**
 * Every method and path an Express 5 app routes, from the router's own `listRoutes()` (router
 * 2.3+), recursing into mounted routers. Express's automatic HEAD for GET is left out: the document
 * says GET routes answer HEAD.
 */
function servedOperations(app: Express): Set<string> {
  const root = (app as unknown as { router: { listRoutes?: () => ListedRoute[] } }).router;
  if (typeof root.listRoutes !== 'function') {
    throw new Error(
      'the Express router has no listRoutes(): update servedOperations for this version',
    );
  }
  const ops = new Set<string>();
  const walk = (routes: ListedRoute[], prefix: string): void => {
    for (const route of routes) {
      if (typeof route.path !== 'string') {
        throw new Error(
          `a route is mounted at a non-string path (${String(route.path)}): document it by hand`,
        );
      }
      const full = `${prefix}${route.path === '/' && route.router ? '' : route.path}`;
      if (route.router) {
        if (typeof route.router.listRoutes !== 'function')
          throw new Error(`cannot list the router at ${full}`);
        walk(route.router.listRoutes(), full);
        continue;
      }
      const openApiPath = full.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      for (const method of route.methods ?? []) {
        if (method === 'HEAD' && route.methods?.includes('GET')) continue;
        ops.add(`${method === '*' ? 'ALL' : method} ${openApiPath}`);
      }
    }
  };
  walk(root.listRoutes(), '');
  return ops;
}

function difference(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((x) => !b.has(x)).sort();
}

/** The app's last handler: 404 `no route for <METHOD> <path>`. */
function isCatchAll(res: { status: number; body?: { detail?: unknown } }): boolean {
  return res.status === 404 && String(res.body?.detail ?? '').startsWith('no route for');
}

/** Documented operations that reach no route of `handler` (split `council` in the paths). */
async function unroutedOperations(handler: RequestListener | Express): Promise<string[]> {
  const unrouted: string[] = [];
  for (const op of documentedOperations()) {
    const [method, p] = op.split(' ');
    const res = await request(handler)[method.toLowerCase() as 'get'](
      p.replace('{name}', 'council'),
    );
    if (isCatchAll(res)) unrouted.push(op);
  }
  return unrouted.sort();
}

/**
 * The contract's schema of an answer: the operation must list `status`, and its content must have
 * `mediaType`. Throws naming what the contract lacks.
 */
function documentedBody(method: string, p: string, status: number, mediaType: string): z.ZodType {
  const op = paths[p]?.[method.toLowerCase() as (typeof METHODS)[number]];
  if (!op) throw new Error(`the contract has no ${method} ${p}`);
  const response = (op.responses as Record<string, { content?: Json } | undefined>)[String(status)];
  if (!response) throw new Error(`${method} ${p} documents no ${status} answer`);
  const schema = (response.content?.[mediaType] as { schema?: unknown } | undefined)?.schema;
  if (!(schema instanceof z.ZodType))
    throw new Error(`${method} ${p} ${status} documents no ${mediaType} body`);
  return schema;
}

/** Asserts a real answer is documented: its status, its media type and its body's shape. */
function expectDocumented(
  method: string,
  p: string,
  res: { status: number; headers: Record<string, unknown>; text: string },
): void {
  const mediaType = String(res.headers['content-type'] ?? '').split(';')[0];
  const schema = documentedBody(method, p, res.status, mediaType);
  const body: unknown = mediaType.endsWith('json')
    ? JSON.parse(res.text)
    : mediaType.endsWith('yaml')
      ? YAML.parse(res.text)
      : res.text;
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new Error(
      `${method} ${p} ${res.status} does not match the document:\n${JSON.stringify(result.error.issues, null, 2)}\nbody: ${res.text.slice(0, 2000)}`,
    );
  }
}

const redisCtx = useRedisServer();

describe('docs/openapi.yaml', () => {
  test('when the contract is rendered, then it equals the committed file (else run npm run openapi)', () => {
    const generated = renderOpenApi();

    expect(committed).toBe(generated);
  });

  test('when read, then it is OpenAPI 3.1 and operation ids are unique', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const ids = Object.values(doc.paths).flatMap((item) =>
      METHODS.flatMap((m) => {
        const op = item[m] as { operationId?: string } | undefined;
        return op ? [op.operationId ?? `(missing in ${m})`] : [];
      }),
    );
    expect(ids.filter((id, i) => ids.indexOf(id) !== i || id.startsWith('('))).toEqual([]);
  });

  test('when read, then a split name has the pattern splits.yaml accepts', () => {
    expect(doc.components.parameters.SplitName.schema.pattern).toBe(NAME_PATTERN.source);
  });
});

describe('documented routes against served routes', () => {
  const service = useServiceUnderTest({}, { redis: redisCtx });
  // createApp with every router through apiRouters, as a second witness beside the service.
  const full = useServiceUnderTest(ROLLOUT_API_WITHOUT_CONTROLLER, { redis: redisCtx });

  test('when the service runs, then every route it serves is in the document', () => {
    const served = servedOperations(service.svc.app);

    expect(served.has('GET /health')).toBe(true); // the walk works at all
    expect(difference(served, documentedOperations())).toEqual([]);
  });

  test('when every router is mounted, then the document lists exactly the routes served', () => {
    const served = servedOperations(full.svc.app);

    expect(difference(served, documentedOperations())).toEqual([]);
    expect(difference(documentedOperations(), served)).toEqual([]);
  });

  test('when each documented operation is called, then a route answers it, not the catch-all', async () => {
    expect(await unroutedOperations(full.svc.app)).toEqual([]);
  });

  test('when the running service is called, then it answers every documented operation', async () => {
    expect(await unroutedOperations(service.svc.listener)).toEqual([]);
  });

  test('when a documented path is called with another method, then the catch-all 404 answers', async () => {
    for (const handler of [full.svc.app, service.svc.listener]) {
      const answered: string[] = [];
      for (const [p, item] of Object.entries(paths)) {
        for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
          if (item[method] !== undefined) continue;
          const res = await request(handler)[method as 'get'](p.replace('{name}', 'council'));
          if (!isCatchAll(res)) answered.push(`${method.toUpperCase()} ${p} -> ${res.status}`);
        }
      }

      expect(answered).toEqual([]);
    }
  });
});

describe('real answers match the documented schemas', () => {
  const ctx = useServiceUnderTest(
    { env: { PROVIDER_TOKEN: 'provider-token-0123456789' } },
    { redis: redisCtx },
  );
  test('when the splits are read, written and listed, then every answer is as documented', async () => {
    const app = ctx.svc.listener;
    const write = async (method: 'put' | 'post', p: string, body: Json) => {
      const call = request(app)[method](p.replace('{name}', 'council'));
      const res = await call.set(ADMIN_AUTH).send(body);
      expect(res.status).toBe(200);
      expectDocumented(method, p, res);
      expect(res.headers.etag).toBe(res.body.etag);
      return res;
    };

    await write('put', '/api/v1/splits/{name}/weights', {
      weights: { main: 75, canary: 25 },
      reason: 'r',
    });
    await write('post', '/api/v1/splits/{name}/scale', { percent: 10 });
    await write('post', '/api/v1/splits/{name}/rollback', {});
    await write('post', '/api/v1/splits/{name}/promote', { reason: 'go' });
    redisCtx.redisServer.cli('HSET', `${ctx.svc.prefix}weights:search`, 'blue', 'x');
    await ctx.svc.provider.refresh();

    const list = await request(app).get('/api/v1/splits');
    const one = await request(app).get('/api/v1/splits/council');
    const history = await request(app).get('/api/v1/splits/council/history?limit=10');

    expectDocumented('get', '/api/v1/splits', list);
    expect(list.body.splits.map((s: { valid: boolean }) => s.valid)).toEqual([true, false]);
    expectDocumented('get', '/api/v1/splits/{name}', one);
    expect(one.headers.etag).toBe(one.body.etag);
    expectDocumented('get', '/api/v1/splits/{name}/history', history);
    expect(history.body.events.map((e: { action: string }) => e.action)).toEqual([
      'promote',
      'rollback',
      'scale',
      'set',
    ]);
  });

  test.each([
    [
      '400 unknown field',
      'post',
      '/api/v1/splits/{name}/scale',
      { percent: 5, extra: 1 },
      'application/json',
      400,
    ],
    [
      '400 bad JSON',
      'post',
      '/api/v1/splits/{name}/scale',
      '{"percent": ',
      'application/json',
      400,
    ],
    ['401 no token', 'post', '/api/v1/splits/{name}/rollback', {}, 'application/json', 401],
    [
      '404 unknown split',
      'put',
      '/api/v1/splits/{name}/weights',
      { weights: { a: 1 } },
      'application/json',
      404,
    ],
    [
      '413 over 16 KiB',
      'post',
      '/api/v1/splits/{name}/promote',
      { reason: 'x'.repeat(17_000) },
      'application/json',
      413,
    ],
    ['415 not JSON', 'post', '/api/v1/splits/{name}/scale', 'percent=5', 'text/plain', 415],
  ])(
    'when a write is refused (%s), then the problem is as documented',
    async (_what, method, p, body, type, status) => {
      const split = status === 404 ? 'nosuch' : 'council';
      const url = p.replace('{name}', split);
      let req = (
        method === 'put' ? request(ctx.svc.listener).put(url) : request(ctx.svc.listener).post(url)
      ).set('Content-Type', type);
      if (status !== 401) req = req.set(ADMIN_AUTH);
      const res = await req.send(typeof body === 'string' ? body : JSON.stringify(body));

      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expectDocumented(method, p, res);
    },
  );

  test('when If-Match is stale, then 412 carries the current ETag, as documented', async () => {
    const res = await request(ctx.svc.listener)
      .post('/api/v1/splits/council/scale')
      .set(ADMIN_AUTH)
      .set('If-Match', '"stale"')
      .send({ percent: 5 });

    expect(res.status).toBe(412);
    expectDocumented('post', '/api/v1/splits/{name}/scale', res);
    expect(res.headers.etag).toBe(ctx.svc.provider.state('council')?.etag);
  });

  test('when history is asked for a bad limit, then 400 is as documented', async () => {
    const res = await request(ctx.svc.listener).get('/api/v1/splits/council/history?limit=0');

    expect(res.status).toBe(400);
    expectDocumented('get', '/api/v1/splits/{name}/history', res);
  });

  test('when Traefik polls, then JSON, YAML, 304 and 401 are as documented', async () => {
    const auth = { Authorization: 'Bearer provider-token-0123456789' };
    const json = await request(ctx.svc.listener).get('/traefik').set(auth);
    const yaml = await request(ctx.svc.listener).get('/traefik?format=yaml').set(auth);
    const notModified = await request(ctx.svc.listener)
      .get('/traefik')
      .set(auth)
      .set('If-None-Match', json.headers.etag);
    const refused = await request(ctx.svc.listener).get('/traefik');

    expectDocumented('get', '/traefik', json);
    expectDocumented('get', '/traefik', yaml);
    expect(yaml.headers.etag).toBe(json.headers.etag);
    expect(notModified.status).toBe(304);
    expect(documentedOperations().has('GET /traefik')).toBe(true);
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer');
    expectDocumented('get', '/traefik', refused);
  });

  test('when health, readiness and metrics are read, then they are as documented', async () => {
    const health = await request(ctx.svc.listener).get('/health');
    const ready = await request(ctx.svc.listener).get('/ready');
    const metrics = await request(ctx.svc.listener).get('/metrics');

    expectDocumented('get', '/health', health);
    expectDocumented('get', '/ready', ready);
    expect(metrics.status).toBe(200);
    expectDocumented('get', '/metrics', metrics);
    expect(metrics.text).toContain('# TYPE');
  });
});

describe('answers while Redis is away match the documented schemas', () => {
  test('when Redis never answered, then /traefik and /ready answer 503 as documented', async () => {
    const svc = await startServiceUnderTest({ redisUrl: `redis://127.0.0.1:${await freePort()}` });
    try {
      const traefik = await request(svc.listener).get('/traefik');
      const ready = await request(svc.listener).get('/ready');

      expect(traefik.status).toBe(503);
      expect(traefik.headers['retry-after']).toBe('1');
      expectDocumented('get', '/traefik', traefik);
      expect(ready.status).toBe(503);
      expectDocumented('get', '/ready', ready);
    } finally {
      await svc.stop();
    }
  });

  test('when Redis goes down, then a write answers 503 as documented', async () => {
    const own = await startOwnRedisServer();
    const svc = await startServiceUnderTest({ redisUrl: own.url });
    try {
      await own.kill();

      const res = await request(svc.listener)
        .post('/api/v1/splits/council/rollback')
        .set(ADMIN_AUTH)
        .send({});

      expect(res.status).toBe(503);
      expectDocumented('post', '/api/v1/splits/{name}/rollback', res);
    } finally {
      await svc.stop();
      await own.stop();
    }
  });

  test('when ?wait=applied times out, then 504 is as documented and the status lists each Traefik', async () => {
    const traefik = `http://127.0.0.1:${await freePort()}`;
    const svc = await startServiceUnderTest({
      redisUrl: redisCtx.redisServer.url,
      env: { TRAEFIK_API_URLS: traefik },
    });
    try {
      const res = await request(svc.listener)
        .post('/api/v1/splits/council/scale?wait=applied&timeout=200ms')
        .set(ADMIN_AUTH)
        .send({ percent: 5 });
      const status = await request(svc.listener).get('/api/v1/splits/council');

      expect(res.status).toBe(504);
      expectDocumented('post', '/api/v1/splits/{name}/scale', res);
      expectDocumented('get', '/api/v1/splits/{name}', status);
      expect(status.body.traefik).toEqual([expect.objectContaining({ traefik, applied: false })]);
    } finally {
      await svc.stop();
      await svc.cleanup(redisCtx.redis);
    }
  });
});

describe('rollout answers match the documented schemas', () => {
  test('when a rollout is described, then the view is a documented RolloutStatus', () => {
    const council = {
      ...SPLITS_DOCUMENT.splits.council,
      rollout: {
        steps: [5, 25, 50, 100],
        bakeTime: '24h',
        checks: [
          {
            name: 'p95-latency',
            type: 'threshold',
            query: 'histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))',
            comparator: '>',
            threshold: 0.7,
            for: '5m',
          },
          {
            name: 'errors-vs-stable',
            type: 'comparison',
            query: 'sum(rate(errors_total{variant="{{variant}}"}[5m]))',
            factor: 1.2,
          },
        ],
      },
    };
    const plan = parseSplitsDocument({ splits: { council } }, 'rollout plan').byName.get(
      'council',
    )?.rollout;
    const now = Date.parse('2024-05-01T12:00:00Z');
    const state = rolloutStateOf({
      step: 1,
      steps: stepsOf([5, 25, 50, 100], 86_400_000),
      stepStartedAt: now - 60_000,
      bakedMs: 60_000,
      bakeMark: now - 1_000,
      decideAfter: now - 60_000,
      version: '1.5.0',
      startedAt: now - 3_600_000,
      startedBy: 'alice',
      updatedAt: now - 60_000,
      reason: 'step 2',
      checks: {
        'p95-latency': {
          verdict: 'pass',
          value: 0.42,
          threshold: 0.7,
          stable: null,
          breachSince: null,
          evaluatedAt: now - 1_000,
          reason: '0.42 <= 0.7',
          errors: 0,
        },
      },
      lastAnalysisAt: now - 1_000,
    });

    const view = describeRollout(state, plan, now, 'replica-1');
    const result = rolloutStatusSchema.safeParse(JSON.parse(JSON.stringify(view)));

    expect(view.checks.map((c) => c.verdict)).toEqual(['pass', 'unknown']);
    expect(result.error?.issues).toBeUndefined();
  });

  test('when a rollout is started, paused, resumed and aborted, then every answer is as documented', async () => {
    const full = await startServiceUnderTest({
      redisUrl: redisCtx.redisServer.url,
      ...ROLLOUT_API_WITHOUT_CONTROLLER,
    });
    const rollout = '/api/v1/splits/{name}/rollout';
    const calls: [string, string, Json | undefined, number][] = [
      ['get', rollout, undefined, 404], // no rollout yet
      ['post', rollout, { version: '1.5.0', reason: 'go' }, 202],
      ['post', rollout, {}, 409], // one is already progressing
      ['get', rollout, undefined, 200],
      ['post', `${rollout}/pause`, {}, 200],
      ['post', `${rollout}/resume`, {}, 202],
      ['post', `${rollout}/promote`, {}, 409], // the controller has not applied the step yet
      ['post', `${rollout}/abort`, { reason: 'red' }, 200],
      ['post', `${rollout}/abort`, { extra: 1 }, 400],
    ];
    try {
      for (const [method, p, body, status] of calls) {
        const url = p.replace('{name}', 'council');
        const res =
          method === 'get'
            ? await request(full.app).get(url)
            : await request(full.app).post(url).set(ADMIN_AUTH).send(body);

        expect(`${method} ${p} ${res.status}`).toBe(`${method} ${p} ${status}`);
        expectDocumented(method, p, res);
      }
      const final = await request(full.app).get('/api/v1/splits/council/rollout');
      expect(final.body).toMatchObject({ status: 'rolled_back', version: '1.5.0' });
      const unplanned = await request(full.app).get('/api/v1/splits/search/rollout');
      expect(unplanned.status).toBe(409);
      expectDocumented('get', rollout, unplanned);
    } finally {
      await full.stop();
      await full.cleanup(redisCtx.redis);
    }
  });
});
