import { parseSplitsDocument } from '../../src/config/splits';
import { createLogger } from '../../src/log/logger';
import { createMetrics, createRegistry } from '../../src/metrics/metrics';
import { WeightsStore } from '../../src/store/weights-store';
import { ConfigProvider } from '../../src/traefik/provider';
import { uniquePrefix } from '../../scripts/lib/redis-process';
import { useRedisServer } from '../helpers/redis-under-test';

/** The provider alone, without change notifications: only its periodic re-read sees writes. */
describe('ConfigProvider periodic re-read', () => {
  const ctx = useRedisServer();

  test('when re-reading a slice at a time, then every split is covered once per cycle, in order', async () => {
    const prefix = uniquePrefix('resync');
    const names = ['a', 'b', 'c', 'd', 'e'];
    const splits = parseSplitsDocument(
      {
        splits: Object.fromEntries(
          names.map((n) => [
            n,
            {
              stable: 'm',
              canary: 'c',
              backends: { m: { service: `${n}-m@file` }, c: { service: `${n}-c@file` } },
            },
          ]),
        ),
      },
      'resync test',
    );
    const log = createLogger('silent');
    const store = new WeightsStore({ redis: ctx.redis, keyPrefix: prefix, splits, log });
    const metrics = createMetrics(createRegistry('t_'), 't_');
    const provider = new ConfigProvider({ splits, store, metrics, log });
    await provider.refresh();
    for (const n of names) await ctx.redis.hset(`${prefix}weights:${n}`, { m: '50', c: '50' });

    const seen: string[][] = [];
    for (let tick = 0; tick < 3; tick++) {
      await provider.resyncSlice(2);
      seen.push(names.filter((n) => provider.state(n)?.served.c === 50));
    }
    expect(seen).toEqual([
      ['a', 'b'],
      ['a', 'b', 'c', 'd'],
      ['a', 'b', 'c', 'd', 'e'],
    ]);
  });
});
