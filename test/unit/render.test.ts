import fs from 'node:fs';
import path from 'node:path';
import { parseSplitsDocument } from '../../src/config/splits';
import { render } from '../../src/traefik/render';
import { serialize } from '../../src/traefik/serialize';
import type { Weights } from '../../src/store/types';
import { councilRouter, councilSplit } from '../helpers/splits-fixtures';

const GOLDEN = path.join(__dirname, '..', 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const splits = parseSplitsDocument(
  {
    splits: {
      council: councilSplit({
        backends: {
          main: { service: 'council-main@docker' },
          canary: { servers: ['http://127.0.0.1:9001', 'http://127.0.0.1:9002'], version: '1.5.0' },
        },
        router: councilRouter({ priority: 10 }),
        sticky: { cookie: { name: 'council_variant', httpOnly: true, sameSite: 'lax' } },
      }),
      search: {
        stable: 'blue',
        canary: 'green',
        backends: {
          blue: { service: 'search-blue@file' },
          green: { service: 'search-green@file' },
        },
        defaultWeights: { blue: 3, green: 1 },
      },
    },
  },
  'golden splits',
);

/** Compares with the golden file, or writes it when UPDATE_GOLDEN=1. */
function expectGolden(name: string, actual: Buffer): void {
  const file = path.join(GOLDEN, name);
  if (UPDATE) fs.writeFileSync(file, actual);
  expect(actual.toString()).toBe(fs.readFileSync(file, 'utf8'));
}

describe('render', () => {
  test('when the canary is at 5 %, then the golden JSON and YAML are produced', () => {
    const weights = new Map<string, Weights>([
      ['council', { main: 95, canary: 5 }],
      ['search', { blue: 3, green: 1 }],
    ]);
    const out = serialize(render(splits.splits, weights));
    expectGolden('council-5.json', out.json);
    expectGolden('council-5.yaml', out.yaml());
  });

  test('when the canary is at 0, then it is left out of the weighted service but still defined', () => {
    const weights = new Map<string, Weights>([
      ['council', { main: 100, canary: 0 }],
      ['search', { blue: 0, green: 7 }],
    ]);
    const config = render(splits.splits, weights);
    expect(config.http.services.council.weighted?.services).toEqual([
      { name: 'council-main@docker', weight: 100 },
    ]);
    expect(config.http.services.search.weighted?.services).toEqual([
      { name: 'search-green@file', weight: 7 },
    ]);
    expect(config.http.services['council-canary'].loadBalancer?.servers).toEqual([
      { url: 'http://127.0.0.1:9001' },
      { url: 'http://127.0.0.1:9002' },
    ]);
    expectGolden('council-0.json', serialize(config).json);
  });

  test('when weights are built in a different key order, then the bytes are the same', () => {
    const a = serialize(
      render(
        splits.splits,
        new Map<string, Weights>([
          ['council', { main: 50, canary: 50 }],
          ['search', { blue: 1, green: 1 }],
        ]),
      ),
    );
    const b = serialize(
      render(
        [...splits.splits].reverse().sort((x, y) => x.name.localeCompare(y.name)),
        new Map<string, Weights>([
          ['search', { green: 1, blue: 1 }],
          ['council', { canary: 50, main: 50 }],
        ]),
      ),
    );
    expect(b.json.equals(a.json)).toBe(true);
    expect(b.etag).toBe(a.etag);
  });

  test('when every weight is written, then each is an explicit integer (Traefik counts a missing one as 1)', () => {
    const config = render(
      splits.splits,
      new Map<string, Weights>([
        ['council', { main: 1, canary: 999999 }],
        ['search', { blue: 1, green: 0 }],
      ]),
    );
    for (const service of Object.values(config.http.services)) {
      for (const child of service.weighted?.services ?? []) {
        expect(Number.isInteger(child.weight)).toBe(true);
        expect(child.weight).toBeGreaterThan(0);
      }
    }
    expect(
      JSON.parse(serialize(config).json.toString()).http.services.council.weighted.services,
    ).toEqual([
      { name: 'council-canary', weight: 999999 },
      { name: 'council-main@docker', weight: 1 },
    ]);
  });

  test('when a split has no weight above 0, then render refuses rather than emit a 503-only service', () => {
    expect(() =>
      render(
        splits.splits,
        new Map<string, Weights>([
          ['council', { main: 0, canary: 0 }],
          ['search', { blue: 1, green: 0 }],
        ]),
      ),
    ).toThrow('split "council" has no backend with a weight above 0');
  });
});
