import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSplitsFile, parseSplitsDocument } from '../../src/config/splits';
import { councilSplit } from '../helpers/splits-fixtures';

const valid = () => ({
  splits: {
    council: councilSplit({
      backends: {
        main: { service: 'council-main@docker' },
        canary: { servers: ['http://10.0.0.5:9001'] },
      },
    }),
  },
});

function errorOf(doc: unknown): string {
  try {
    parseSplitsDocument(doc, 'splits.yaml');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the document to be rejected');
}

type Doc = ReturnType<typeof valid>;

/** A change to the valid document: its council split with `change` laid over it. */
const council =
  (change: Record<string, unknown>) =>
  (d: Doc): unknown => ({ splits: { council: { ...d.splits.council, ...change } } });

/** A change to the valid document: one backend of its council split replaced by `value`. */
const backend =
  (name: string, value: unknown) =>
  (d: Doc): unknown =>
    council({ backends: { ...d.splits.council.backends, [name]: value } })(d);

describe('splits.yaml validation', () => {
  test('when defaultWeights is omitted, then stable gets 100 and the others 0', () => {
    const config = parseSplitsDocument(valid(), 'splits.yaml');
    expect(config.splits[0].defaultWeights).toEqual({ canary: 0, main: 100 });
    expect(config.splits[0].backends.map((b) => b.name)).toEqual(['canary', 'main']);
  });

  test.each([
    [
      'a split name with capitals',
      (d: Doc) => ({ splits: { Council: d.splits.council } }),
      'splits.Council',
    ],
    [
      'stable naming no backend',
      council({ stable: 'mian' }),
      'splits.council.stable: names backend "mian"',
    ],
    [
      'stable equal to canary',
      council({ canary: 'main' }),
      'splits.council.canary: must differ from stable',
    ],
    [
      'a backend with both service and servers',
      backend('main', { service: 'a@docker', servers: ['http://x'] }),
      'splits.council.backends.main: set exactly one of',
    ],
    [
      'a server that is not a URL',
      backend('canary', { servers: ['10.0.0.5:9001'] }),
      'splits.council.backends.canary.servers[0]',
    ],
    [
      'a service without @provider',
      backend('main', { service: 'council-main' }),
      'must be <service>@<provider>',
    ],
    [
      'negative default weight',
      council({ defaultWeights: { main: -1, canary: 0 } }),
      'splits.council.defaultWeights.main: must be >= 0',
    ],
    [
      'all-zero default weights',
      council({ defaultWeights: { main: 0, canary: 0 } }),
      'must give at least one backend a weight above 0',
    ],
    [
      'a default weight for an unknown backend',
      council({ defaultWeights: { main: 1, cnary: 0 } }),
      'splits.council.defaultWeights.cnary: is not a backend',
    ],
    ['an unknown key', council({ weigths: {} }), 'weigths'],
    ['no splits', () => ({ splits: {} }), 'must declare at least one split'],
  ])('when the file has %s, then the error names the path', (_label, mutate, expected) => {
    const message = errorOf(mutate(valid()));
    expect(message).toContain('splits.yaml is invalid');
    expect(message).toContain(expected);
  });

  test('when two emitted service names collide, then the file is rejected', () => {
    const message = errorOf({
      splits: {
        a: {
          stable: 'x',
          canary: 'b-c',
          backends: { x: { service: 's@file' }, 'b-c': { servers: ['http://h'] } },
        },
        'a-b': {
          stable: 'c',
          canary: 'd',
          backends: { c: { servers: ['http://h'] }, d: { servers: ['http://h'] } },
        },
        'a-b-c': {
          stable: 'e',
          canary: 'f',
          backends: { e: { service: 's@file' }, f: { service: 't@file' } },
        },
      },
    });
    expect(message).toContain('emits Traefik service "a-b-c"');
  });

  test('when the file is missing or not YAML, then the error names the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splits-'));
    const missing = path.join(dir, 'nope.yaml');
    expect(() => loadSplitsFile(missing)).toThrow(
      `splits file ${missing} does not exist (set SPLITS_FILE`,
    );
    const broken = path.join(dir, 'broken.yaml');
    fs.writeFileSync(broken, 'splits:\n  council: [unclosed\n');
    expect(() => loadSplitsFile(broken)).toThrow(`${broken} is not valid YAML`);
    const dup = path.join(dir, 'dup.yaml');
    fs.writeFileSync(dup, 'splits:\n  a: {}\n  a: {}\n');
    expect(() => loadSplitsFile(dup)).toThrow(/not valid YAML[\s\S]*unique/i);
    fs.rmSync(dir, { recursive: true });
  });

  test('the example splits file shipped in traefik/ is valid', () => {
    const config = loadSplitsFile(
      path.join(__dirname, '..', '..', 'traefik', 'splits.example.yaml'),
    );
    expect(config.splits.map((s) => s.name)).toContain('council');
  });
});
