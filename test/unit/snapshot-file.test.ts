import fs from 'node:fs';
import { sleep } from '../../scripts/lib/child-process';
import os from 'node:os';
import path from 'node:path';
import { parseSplitsDocument } from '../../src/config/splits';
import { createLogger } from '../../src/log/logger';
import {
  readSnapshotFile,
  splitsHashOf,
  writeSnapshotFile,
  type Snapshot,
} from '../../src/traefik/snapshot-file';
import { SnapshotKeeper } from '../../src/traefik/snapshot-keeper';
import { SPLITS_DOCUMENT } from '../helpers/service';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-snapshot-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const splits = parseSplitsDocument(SPLITS_DOCUMENT, 'test splits');
const HASH = splitsHashOf(splits);

function snapshotOf(canary: number, padding = 0): Snapshot {
  const body = Buffer.from(
    JSON.stringify({
      http: { services: { council: { weighted: { services: [{ name: 'c', weight: canary }] } } } },
      ...(padding > 0 && { pad: 'x'.repeat(padding) }),
    }),
  );
  return {
    splitsHash: HASH,
    writtenAt: '2026-01-02T03:04:05.000Z',
    served: { council: { main: 100 - canary, canary } },
    body,
  };
}

describe('the splits hash', () => {
  test('when the splits differ in any backend, then the hash differs; parsed twice, it is the same', () => {
    const again = parseSplitsDocument(structuredClone(SPLITS_DOCUMENT), 'other name');
    expect(splitsHashOf(again)).toBe(HASH);
    const changed = structuredClone(SPLITS_DOCUMENT);
    changed.splits.council.backends.canary.servers = ['http://127.0.0.1:9002'];
    expect(splitsHashOf(parseSplitsDocument(changed, 'changed'))).not.toBe(HASH);
    expect(HASH).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('the snapshot file', () => {
  test('when written and read back for the same splits, then body, weights and time are the same bytes and values', async () => {
    const file = path.join(dir, 'nested', 'snapshot.json');
    const snap = snapshotOf(30);
    await writeSnapshotFile(file, snap);
    const read = await readSnapshotFile(file, HASH);
    expect(read.kind).toBe('ok');
    if (read.kind !== 'ok') return;
    expect(read.snapshot.body.equals(snap.body)).toBe(true);
    expect(read.snapshot.served).toEqual({ council: { main: 70, canary: 30 } });
    expect(read.snapshot.writtenAt).toBe('2026-01-02T03:04:05.000Z');
    // Owner only (the body may carry backend credentials); no temporary file left behind.
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['snapshot.json']);
  });

  test('when rewritten while a reader reads in a loop, then the reader only ever sees a whole snapshot', async () => {
    const file = path.join(dir, 'snapshot.json');
    await writeSnapshotFile(file, snapshotOf(1, 2_000_000));
    const seen = new Set<string>();
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const r = await readSnapshotFile(file, HASH);
        seen.add(r.kind === 'ok' ? `ok:${r.snapshot.served.council.canary}` : r.kind);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let i = 2; i <= 15; i++) await writeSnapshotFile(file, snapshotOf(i, 2_000_000));
    reading = false;
    await reader;
    expect([...seen].filter((k) => !k.startsWith('ok:'))).toEqual([]);
    expect(seen.size).toBeGreaterThan(1);
    expect(fs.readdirSync(dir)).toEqual(['snapshot.json']);
  });

  test('when the snapshot was written for other splits, then it is reported as such with its hash, not served', async () => {
    const file = path.join(dir, 'snapshot.json');
    await writeSnapshotFile(file, { ...snapshotOf(30), splitsHash: 'sha256:other' });
    expect(await readSnapshotFile(file, HASH)).toEqual({
      kind: 'other-splits',
      splitsHash: 'sha256:other',
      writtenAt: '2026-01-02T03:04:05.000Z',
    });
  });

  test('when there is no file, then it is missing', async () => {
    expect(await readSnapshotFile(path.join(dir, 'none.json'), HASH)).toEqual({ kind: 'missing' });
  });

  test.each([
    ['not JSON', (t: string) => t.slice(0, t.length / 2), /^is not JSON/],
    ['an array', () => '[]', /^is not a JSON object$/],
    ['another format', (t: string) => t.replace('"format":1', '"format":2'), /format 2, not 1/],
    [
      'a body changed on disk',
      (t: string) => t.replace('"weight\\":30', '"weight\\":31'),
      /checksum/,
    ],
    [
      'weights that are not numbers',
      (t: string) => t.replace('"canary":30', '"canary":"x"'),
      /served/,
    ],
    ['a bad time', (t: string) => t.replace('2026-01-02T03:04:05.000Z', 'soon'), /writtenAt/],
    ['an empty file', () => '', /^is not JSON/],
  ])('when the file is %s, then it is corrupt with the reason', async (_what, damage, reason) => {
    const file = path.join(dir, 'snapshot.json');
    await writeSnapshotFile(file, snapshotOf(30));
    fs.writeFileSync(file, damage(fs.readFileSync(file, 'utf8')));
    const read = await readSnapshotFile(file, HASH);
    expect(read.kind).toBe('corrupt');
    expect(read.kind === 'corrupt' && read.reason).toMatch(reason);
  });
});

describe('the snapshot keeper', () => {
  const log = createLogger('silent');
  /** A keeper of `file` that takes the snapshot `current()` holds whenever it writes. */
  const keeperOf = (file: string, current: () => Snapshot, delayMs?: number) =>
    new SnapshotKeeper({
      file,
      splitsHash: HASH,
      log,
      ...(delayMs !== undefined && { delayMs }),
      take: () => ({ body: current().body, served: current().served }),
    });

  test('when the body changes several times in a burst, then it is written once, after the delay, with the last body', async () => {
    const file = path.join(dir, 'snapshot.json');
    let current = snapshotOf(10);
    const keeper = keeperOf(file, () => current, 100);
    for (const canary of [11, 12, 13]) {
      current = snapshotOf(canary);
      keeper.changed();
    }
    expect(fs.existsSync(file)).toBe(false);
    await sleep(1_000);
    expect(keeper.writes).toBe(1);
    const read = await readSnapshotFile(file, HASH);
    expect(read.kind === 'ok' && read.snapshot.served.council.canary).toBe(13);
    await keeper.close();
  });

  test('when told of a change but the body is the one on disk, then nothing is written again', async () => {
    const file = path.join(dir, 'snapshot.json');
    const current = snapshotOf(20);
    const keeper = keeperOf(file, () => current, 10);
    await keeper.flush();
    const mtime = fs.statSync(file).mtimeMs;
    keeper.changed();
    await keeper.close();
    expect(keeper.writes).toBe(1);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
  });

  test('when the directory cannot be written, then the write fails quietly and a later one succeeds', async () => {
    const blocker = path.join(dir, 'data');
    fs.writeFileSync(blocker, 'a file where the directory should be');
    const current = snapshotOf(20);
    const keeper = keeperOf(path.join(blocker, 'snapshot.json'), () => current);
    await keeper.flush();
    expect(keeper.writes).toBe(0);
    fs.rmSync(blocker);
    await keeper.flush();
    expect(keeper.writes).toBe(1);
    const read = await readSnapshotFile(path.join(blocker, 'snapshot.json'), HASH);
    expect(read.kind).toBe('ok');
  });
});
