import fs from 'node:fs';
import path from 'node:path';
import { parseSplitsDocument } from '../../src/config/splits';
import { render } from '../../src/traefik/render';
import { serialize } from '../../src/traefik/serialize';
import type { Weights } from '../../src/store/types';

const GOLDEN = path.join(__dirname, '..', 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** Health checks, retry and overrides: what keeps a dead canary from failing users. */
const document = () => ({
  splits: {
    council: {
      stable: 'main',
      canary: 'canary',
      version: undefined,
      backends: {
        main: { servers: ['http://127.0.0.1:9000'], healthCheck: { path: '/health' } },
        canary: {
          servers: ['http://127.0.0.1:9001'],
          healthCheck: { path: '/health', interval: '2s', timeout: '1s' },
          passiveHealthCheck: { maxFailedAttempts: 3, failureWindow: '10s' },
        },
      },
      router: {
        rule: 'Host(`council.localhost`)',
        entryPoints: ['web'],
        middlewares: ['auth@file'],
        retry: { attempts: 3, initialInterval: '50ms' },
        overrides: [
          { header: 'X-Canary', value: 'always', backend: 'canary' },
          { cookie: 'canary', value: 'always', backend: 'canary' },
          { header: 'X-Stable', value: 'yes.please', backend: 'main' },
        ],
      },
    },
    search: {
      stable: 'blue',
      canary: 'green',
      backends: {
        blue: { service: 'search-blue@docker', healthCheck: {} },
        green: { servers: ['http://127.0.0.1:9101'], healthCheck: { path: '/ready' } },
      },
      router: { rule: 'Host(`search.localhost`)', priority: 20 },
    },
  },
});

const splits = () => {
  const doc = document();
  delete (doc.splits.council as { version?: string }).version;
  return parseSplitsDocument(doc, 'resilience splits').splits;
};

function expectGolden(name: string, actual: Buffer): void {
  const file = path.join(GOLDEN, name);
  if (UPDATE) fs.writeFileSync(file, actual);
  expect(actual.toString()).toBe(fs.readFileSync(file, 'utf8'));
}

describe('render with health checks, retry and overrides', () => {
  const weights = new Map<string, Weights>([
    ['council', { main: 100, canary: 0 }],
    ['search', { blue: 9, green: 1 }],
  ]);

  test('when every shape is declared, then the golden YAML is produced', () => {
    expectGolden('council-resilient.yaml', serialize(render(splits(), weights)).yaml());
  });

  test('when a backend has a health check, then its load balancer carries it and the weighted service asks for health', () => {
    const http = render(splits(), weights).http;
    expect(http.services['council-canary'].loadBalancer).toEqual({
      servers: [{ url: 'http://127.0.0.1:9001' }],
      healthCheck: { path: '/health', interval: '2s', timeout: '1s' },
      passiveHealthCheck: { maxFailedAttempts: 3, failureWindow: '10s' },
    });
    expect(http.services.council.weighted?.healthCheck).toEqual({});
    expect(http.services.search.weighted?.healthCheck).toEqual({});
  });

  test('when no backend has a health check, then the weighted service has none (Traefik would refuse it)', () => {
    const doc = document();
    delete (doc.splits.council as { version?: string }).version;
    for (const b of Object.values(doc.splits.council.backends) as { healthCheck?: unknown }[]) {
      delete b.healthCheck;
    }
    const http = render(parseSplitsDocument(doc, 'x').splits, weights).http;
    expect(http.services.council.weighted).toEqual({
      services: [{ name: 'council-main', weight: 100 }],
    });
  });

  test('when retry is set, then a retry middleware is emitted and is last in the router chain', () => {
    const http = render(splits(), weights).http;
    expect(http.middlewares).toEqual({
      'council-retry': { retry: { attempts: 3, initialInterval: '50ms' } },
    });
    expect(http.routers?.council.middlewares).toEqual(['auth@file', 'council-retry']);
    expect(http.routers?.search.middlewares).toBeUndefined();
  });

  test('when overrides are declared, then each routes to its backend at weight 0 with a stricter rule', () => {
    const routers = render(splits(), weights).http.routers ?? {};
    expect(routers['council-override-0']).toEqual({
      rule: '(Host(`council.localhost`)) && Header(`X-Canary`, `always`)',
      service: 'council-canary',
      entryPoints: ['web'],
      middlewares: ['auth@file', 'council-retry'],
    });
    expect(routers['council-override-1'].rule).toBe(
      '(Host(`council.localhost`)) && HeaderRegexp(`Cookie`, `(^|;\\s*)canary=always(;|$)`)',
    );
    expect(routers['council-override-2'].rule).toBe(
      '(Host(`council.localhost`)) && Header(`X-Stable`, `yes.please`)',
    );
    expect(routers['council-override-2'].service).toBe('council-main');
    // The canary is at 0: the weighted service does not list it, the override still reaches it.
    expect(render(splits(), weights).http.services.council.weighted?.services).toEqual([
      { name: 'council-main', weight: 100 },
    ]);
  });

  test('when the split router has a priority, then its overrides outrank it by one', () => {
    const doc = document();
    delete (doc.splits.council as { version?: string }).version;
    (doc.splits.council.router as { priority?: number }).priority = 40;
    const routers = render(parseSplitsDocument(doc, 'x').splits, weights).http.routers ?? {};
    expect(routers.council.priority).toBe(40);
    expect(routers['council-override-0'].priority).toBe(41);
  });
});

describe('splits.yaml validation of health checks, retry and overrides', () => {
  function errorOf(mutate: (d: ReturnType<typeof document>) => void): string {
    const doc = document();
    delete (doc.splits.council as { version?: string }).version;
    mutate(doc);
    try {
      parseSplitsDocument(doc, 'splits.yaml');
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('expected the document to be rejected');
  }
  type Doc = ReturnType<typeof document>;
  const canary = (d: Doc) => d.splits.council.backends.canary as Record<string, unknown>;

  test.each<[string, (d: Doc) => void, string]>([
    [
      'a health check interval that is not a duration',
      (d) => (canary(d).healthCheck = { path: '/health', interval: 'often' }),
      'splits.council.backends.canary.healthCheck.interval: must be a duration',
    ],
    [
      'a health check interval in days (Traefik reads Go durations)',
      (d) => (canary(d).healthCheck = { path: '/health', interval: '1d' }),
      'splits.council.backends.canary.healthCheck.interval: must be a duration',
    ],
    [
      'a health check without a path on servers we define',
      (d) => (canary(d).healthCheck = { interval: '2s' }),
      'splits.council.backends.canary.healthCheck',
    ],
    [
      'an unknown health check field',
      (d) => (canary(d).healthCheck = { path: '/health', intervall: '2s' }),
      'splits.council.backends.canary.healthCheck',
    ],
    [
      'a passive check with zero attempts',
      (d) => (canary(d).passiveHealthCheck = { maxFailedAttempts: 0 }),
      'splits.council.backends.canary.passiveHealthCheck.maxFailedAttempts',
    ],
    [
      'a health check on one backend only',
      (d) => delete (d.splits.council.backends.main as Record<string, unknown>).healthCheck,
      'splits.council.backends.main.healthCheck: is required because backend "canary" has one',
    ],
    [
      'a referenced service with a non-empty health check',
      (d) =>
        ((d.splits.search.backends.blue as Record<string, unknown>).healthCheck = {
          path: '/health',
        }),
      'splits.search.backends.blue.healthCheck: must be {} for a service another provider defines',
    ],
    [
      'a retry with 0 attempts',
      (d) => (d.splits.council.router.retry.attempts = 0),
      'splits.council.router.retry.attempts',
    ],
    [
      'an override naming no backend',
      (d) => (d.splits.council.router.overrides[0].backend = 'canari'),
      'splits.council.router.overrides[0].backend: names backend "canari"',
    ],
    [
      'an override with both header and cookie',
      (d) => Object.assign(d.splits.council.router.overrides[0], { cookie: 'c' }),
      'splits.council.router.overrides[0]: set exactly one of `header` or `cookie`',
    ],
    [
      'an override value with a backquote (it would end the rule)',
      (d) => (d.splits.council.router.overrides[0].value = 'a`) || Host(`evil'),
      'splits.council.router.overrides[0].value: must be printable ASCII without a backquote',
    ],
    [
      'a cookie override value with a semicolon',
      (d) => (d.splits.council.router.overrides[1].value = 'a;b'),
      'splits.council.router.overrides[1].value: must be a cookie value',
    ],
    [
      'a header name with a space',
      (d) => (d.splits.council.router.overrides[0].header = 'X Canary'),
      'splits.council.router.overrides[0].header: must be an HTTP header name',
    ],
  ])('when %s, then the error names the place', (_what, mutate, expected) => {
    expect(errorOf(mutate)).toContain(expected);
  });

  test("when a split is named like another split's override router, then the clash is named", () => {
    const message = errorOf((d) => {
      (d.splits as Record<string, unknown>)['council-override-0'] = {
        ...d.splits.search,
        backends: {
          blue: { service: 'x-blue@docker' },
          green: { service: 'x-green@docker' },
        },
        router: { rule: 'Host(`x`)' },
      };
    });
    expect(message).toContain(
      'splits.council.router.overrides[0]: emits Traefik router "council-override-0", which split "council-override-0" also emits',
    );
  });
});
