import { parseSplitsDocument } from '../../src/config/splits';
import type { Weights } from '../../src/store/types';
import { IncrementalSerializer } from '../../src/traefik/incremental-serializer';
import { render } from '../../src/traefik/render';
import { serialize } from '../../src/traefik/serialize';

/** Names chosen so that services of different splits interleave in sort order. */
function generatedSplits(n: number) {
  const splits: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const name = `s${i.toString(36)}${i % 3 === 0 ? '-x' : ''}`;
    splits[name] = {
      stable: 'main',
      canary: 'canary',
      backends: {
        main:
          i % 2 === 0
            ? { servers: [`http://10.0.${i % 250}.1:9000`] }
            : { service: `${name}-main@docker` },
        canary: { servers: [`http://10.0.${i % 250}.2:9001`] },
        ...(i % 5 === 0 && { x: { service: `other-${i}@file` } }),
      },
      ...(i % 4 === 0 && {
        router: {
          rule: `Host(\`${name}.example\`)`,
          entryPoints: ['web'],
          ...(i % 8 === 0 && { retry: { attempts: 2 } }),
          ...(i % 12 === 0 && {
            overrides: [{ header: 'X-Canary', value: 'always', backend: 'canary' }],
          }),
        },
      }),
      ...(i % 7 === 0 && { sticky: { cookie: { name: `c${i}` } } }),
    };
  }
  return parseSplitsDocument({ splits }, 'generated');
}

describe('IncrementalSerializer', () => {
  test('when weights change split by split, then its bytes always equal the reference serialization', () => {
    const config = generatedSplits(120);
    const incremental = new IncrementalSerializer(config.splits);
    const weights = new Map<string, Weights>();
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (const s of config.splits) {
      weights.set(s.name, { ...s.defaultWeights });
      incremental.update(s.name, s.defaultWeights);
    }
    for (let round = 0; round < 200; round++) {
      const split = config.splits[next() % config.splits.length];
      const w: Weights = {};
      for (const b of split.backends) w[b.name] = next() % 4 === 0 ? 0 : next() % 1000;
      if (Object.values(w).every((v) => v === 0)) w[split.stable] = 1;
      weights.set(split.name, w);
      incremental.update(split.name, w);
      if (round % 20 === 0 || round === 199) {
        expect(incremental.json().toString()).toBe(
          serialize(render(config.splits, weights)).json.toString(),
        );
      }
    }
  });

  test('when a split has not been given weights yet, then json() refuses to build a partial document', () => {
    const config = generatedSplits(3);
    const incremental = new IncrementalSerializer(config.splits);
    incremental.update(config.splits[0].name, config.splits[0].defaultWeights);
    expect(() => incremental.json()).toThrow(/no weights to render for split/);
  });

  test('when weights are all zero, then update throws and the previous fragment stays', () => {
    const config = generatedSplits(2);
    const incremental = new IncrementalSerializer(config.splits);
    for (const s of config.splits) incremental.update(s.name, s.defaultWeights);
    const before = incremental.json().toString();
    expect(() => incremental.update(config.splits[0].name, { main: 0, canary: 0 })).toThrow(
      /no backend with a weight above 0/,
    );
    expect(incremental.json().toString()).toBe(before);
  });
});
