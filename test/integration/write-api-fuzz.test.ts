/**
 * Property-based fuzz of the write API against the real service and a real redis-server: generated
 * routes, names, headers and bodies never get a 5xx, and a refused request never changes Redis.
 */
import fc from 'fast-check';
import { ADMIN_TOKEN, useServiceUnderTest } from '../helpers/service';

jest.setTimeout(120_000);

const PRINTABLE = [...' !"#$%&\'()*+,-./0123456789:;<=>?@AZaz[\\]^_`{|}~W'];
const headerText = fc.string({ unit: fc.constantFrom(...PRINTABLE), maxLength: 50 });

const ROUTES = [
  ['PUT', 'weights'],
  ['POST', 'scale'],
  ['POST', 'rollback'],
  ['POST', 'promote'],
] as const;

const name = fc.oneof(
  { arbitrary: fc.constantFrom('council', 'search'), weight: 3 },
  fc.constantFrom('nope', '%ZZ', '%E0%A4%A', '%C0%AF', '..', '%2F', '%00'),
  fc.string({
    unit: fc.constantFrom('a', 'Z', '%', '0', 'E', 'F', '.', '-', '~', '_'),
    minLength: 1,
    maxLength: 12,
  }),
);

const weightValue = fc.oneof(
  fc.integer({ min: -5, max: 1_000_005 }),
  fc.double(),
  fc.constantFrom(null, true, '5', '', -0, 0, 100),
  fc.string({ maxLength: 5 }),
);
const weightsBody = fc.record(
  {
    weights: fc.oneof(
      fc.dictionary(
        fc.constantFrom(
          'main',
          'canary',
          'blue',
          'green',
          'shadow',
          '__proto__',
          'constructor',
          '',
        ),
        weightValue,
        { maxKeys: 5 },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    percent: fc.oneof(fc.integer({ min: -10, max: 110 }), fc.double(), fc.string({ maxLength: 4 })),
    reason: fc.oneof(fc.string({ maxLength: 30 }), fc.constant('x'.repeat(501)), fc.integer()),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);
const valid = fc.constantFrom(
  '{}',
  '{"percent":10}',
  '{"percent":0,"reason":"fuzz"}',
  '{"weights":{"main":50,"canary":50}}',
  '{"weights":{"blue":1,"green":0,"shadow":0}}',
);
const body = fc.oneof(
  { arbitrary: valid, weight: 3 },
  weightsBody.map((b) => JSON.stringify(b)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '',
    '{',
    'null',
    '{"weights":{"main":50,"canary":50,"__proto__":{"a":1}}}',
    '{"weights":{"main":1e309,"canary":0}}',
    '{"percent":1e309}',
  ),
);

describe('the write API, fuzzed', () => {
  const ctx = useServiceUnderTest();

  /** Every key of the service under its prefix, with its content. */
  async function snapshot(): Promise<Record<string, unknown>> {
    const keys = (await ctx.redis.keys(`${ctx.svc.prefix}*`)).sort();
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const type = await ctx.redis.type(key);
      out[key] =
        type === 'hash'
          ? await ctx.redis.hgetall(key)
          : type === 'stream'
            ? await ctx.redis.xrange(key, '-', '+')
            : type === 'string'
              ? await ctx.redis.get(key)
              : type;
    }
    return out;
  }

  const current = async (split: string): Promise<string | undefined> => {
    const res = await fetch(`http://127.0.0.1:${ctx.svc.port}/api/v1/splits/${split}`);
    return res.headers.get('etag') ?? undefined;
  };

  test('when anything is sent to a write route, then never a 5xx and a refusal changes nothing', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        name,
        body,
        fc.record(
          {
            auth: fc.constantFrom(`Bearer ${ADMIN_TOKEN}`, `Bearer ${ADMIN_TOKEN}`, 'Bearer x', ''),
            contentType: fc.constantFrom(
              'application/json',
              'application/json; charset=latin1',
              'text/plain',
              '',
            ),
            ifMatch: fc.oneof(fc.constantFrom('current', '*', '""', 'W/""', ''), headerText),
            actor: headerText,
            source: fc.constantFrom('cli', 'api', 'controller', ''),
            encoding: fc.constantFrom('gzip', 'br', 'identity', 'x-unknown', 'identity'),
          },
          { requiredKeys: ['auth'] },
        ),
        async ([method, route], split, payload, h) => {
          const headers: Record<string, string> = {};
          if (h.auth) headers.Authorization = h.auth;
          if (h.contentType) headers['Content-Type'] = h.contentType;
          if (h.ifMatch !== undefined) {
            headers['If-Match'] =
              h.ifMatch === 'current' ? ((await current(split)) ?? '"none"') : h.ifMatch;
          }
          if (h.actor !== undefined) headers['X-Actor'] = h.actor;
          if (h.source) headers['X-Change-Source'] = h.source;
          if (h.encoding) headers['Content-Encoding'] = h.encoding;
          const before = await snapshot();
          const res = await fetch(
            `http://127.0.0.1:${ctx.svc.port}/api/v1/splits/${split}/${route}`,
            {
              method,
              headers,
              body: payload,
            },
          );
          const text = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect([res.status < 500, res.status, text]).toEqual([true, res.status, text]);
          if (res.status >= 300) expect(await snapshot()).toEqual(before);
        },
      ),
      // A fixed seed: the same 1,000 cases on every run, so the coverage check below cannot
      // flake (FUZZ_SEED explores others).
      { numRuns: 1000, seed: Number(process.env.FUZZ_SEED ?? 20261201) },
    );
    // The run reached both sides: some writes went through, most were refused.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThan(3);
  });
});
