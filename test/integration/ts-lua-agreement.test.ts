/**
 * The service (TypeScript) and the write script (Lua, inside a real redis-server) decide alike
 * about any stored hash: the same canonical text, hence the same ETag, and the same verdict on
 * which stored texts are weights. A disagreement would make If-Match refuse every write, or record
 * a weight the service does not serve.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { parseSplitsDocument } from '../../src/config/splits';
import { PreconditionFailedError } from '../../src/errors';
import { createLogger } from '../../src/log/logger';
import { isWeightText } from '../../src/store/stored-weights';
import { WeightsStore } from '../../src/store/weights-store';
import { SPLITS_DOCUMENT } from '../helpers/service';
import {
  startRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';

jest.setTimeout(120_000);

const HOSTILE = ['inf', '-inf', 'nan', '1e309', '9'.repeat(400), '0x10', '1e2', ' 5', '5 ', '+5'];
const text = fc.oneof(
  fc.constantFrom(...HOSTILE, '05', '-0', '', '0', '7', '1000000', '1000001', '10\nmain=90'),
  fc.integer({ min: 0, max: 2_000_000 }).map(String),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('0', '1', '9', '=', '\n', ':', 'e', '.', '-'), maxLength: 8 }),
);
const field = fc.oneof(
  fc.constantFrom('main', 'canary', 'Main', 'canary\n', 'a=b', '1:x', 'é', 'z'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
);

describe('TypeScript and Lua agree', () => {
  let redisServer: RedisServerHandle;
  let redis: Redis;
  let store: WeightsStore;
  const prefix = uniquePrefix('agree');

  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = new Redis(redisServer.url);
    store = new WeightsStore({
      redis,
      keyPrefix: prefix,
      splits: parseSplitsDocument(SPLITS_DOCUMENT, 'test splits'),
      log: createLogger('silent'),
    });
  });

  afterAll(async () => {
    redis?.disconnect();
    await redisServer?.stop();
  });

  test('when any hash is stored, then both compute the same ETag and the same weight verdicts', async () => {
    const key = `${prefix}weights:council`;
    await fc.assert(
      fc.asyncProperty(fc.dictionary(field, text, { minKeys: 1, maxKeys: 6 }), async (fields) => {
        await redis.del(key);
        await redis.hset(key, fields);
        const [read] = await store.read(['council']);
        // What Lua computes, from its refusal of an If-Match that cannot match.
        let luaEtag = '';
        try {
          await store.write({
            split: 'council',
            weights: { main: 100, canary: 0 },
            action: 'rollback',
            source: 'api',
            actor: 'property',
            ifMatch: '"0000000000000000000000000000000000000000"',
          });
        } catch (err) {
          if (!(err instanceof PreconditionFailedError)) throw err;
          luaEtag = err.currentEtag;
        }
        expect(luaEtag).toBe(read.etag);
        // If-Match with the service's own ETag is accepted by the script.
        const { event } = await store.write({
          split: 'council',
          weights: { main: 100, canary: 0 },
          action: 'rollback',
          source: 'api',
          actor: 'property',
          ifMatch: read.etag,
        });
        const luaWeights = Object.keys(event.before ?? {}).sort();
        const tsWeights = Object.keys(fields)
          .filter((f) => isWeightText(fields[f]))
          .sort();
        expect(luaWeights).toEqual(tsWeights);
        expect({ ...event.before, ...event.beforeText }).toEqual(
          Object.fromEntries(
            Object.entries(fields).map(([f, v]) => [f, isWeightText(v) ? Number(v) : v]),
          ),
        );
      }),
      { numRuns: 300 },
    );
  });
});
