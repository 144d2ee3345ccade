import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { parseSplitsDocument } from '../../src/config/splits';
import { readSnapshotFile, splitsHashOf } from '../../src/traefik/snapshot-file';
import { waitUntil } from '../../scripts/lib/ports';
import { SPLITS_DOCUMENT, startServiceUnderTest, type ServiceUnderTest } from '../helpers/service';
import {
  startOwnRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import { ADMIN_AUTH } from '../helpers/admin-api-request';

jest.setTimeout(60_000);

/**
 * The last-good snapshot through the real service on a real redis-server: written after a change,
 * served on a start while Redis is down, ignored when written for other splits or corrupt, and
 * replaced by fresh weights once Redis answers.
 */

const splits = parseSplitsDocument(SPLITS_DOCUMENT, 'test splits');

let dir: string;
let file: string;
let redisServer: RedisServerHandle;
let services: ServiceUnderTest[] = [];
let logs: string[];

beforeAll(async () => {
  redisServer = await startOwnRedisServer();
});
afterAll(async () => {
  await redisServer?.stop();
});
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-snapshot-int-'));
  file = path.join(dir, 'snapshot.json');
  logs = [];
  // A test before may have left it killed.
  let up = false;
  try {
    up = redisServer.cli('PING').trim() === 'PONG';
  } catch {
    up = false;
  }
  if (!up) await redisServer.restart();
});
afterEach(async () => {
  for (const s of services) await s.stop();
  services = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The real service with the test's snapshot file, logging into `logs`. */
async function start(redisUrl: string, prefix: string, splitsDocument: unknown = SPLITS_DOCUMENT) {
  const logSink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const svc = await startServiceUnderTest({
    redisUrl,
    prefix,
    splits: splitsDocument,
    env: { SNAPSHOT_FILE: file, RESYNC_INTERVAL_MS: '200' },
    logSink,
  });
  services.push(svc);
  return svc;
}

function canaryWeight(body: {
  http: {
    services: Record<string, { weighted?: { services: { name: string; weight: number }[] } }>;
  };
}): number | undefined {
  return body.http.services.council.weighted?.services.find((s) => s.name === 'council-canary')
    ?.weight;
}

/** A snapshot on disk whose council weights are main 0 / canary 100, written by a real run. */
async function snapshotWithCanary100(prefix: string): Promise<Buffer> {
  const svc = await start(redisServer.url, prefix);
  const changedAt = Date.now();
  await request(svc.app)
    .put('/api/v1/splits/council/weights')
    .set(ADMIN_AUTH)
    .send({ weights: { main: 0, canary: 100 } })
    .expect(200);
  await waitUntil(
    'the snapshot to hold canary 100',
    async () => {
      const r = await readSnapshotFile(file, splitsHashOf(splits));
      return r.kind === 'ok' && r.snapshot.served.council.canary === 100;
    },
    10_000,
    20,
  );
  const writtenWithinMs = Date.now() - changedAt;
  const served = await request(svc.listener).get('/traefik').expect(200);
  await svc.stop();
  services = services.filter((s) => s !== svc);
  // Debounced, but soon after the change (a generous bound: a loaded machine).
  expect(writtenWithinMs).toBeLessThan(5_000);
  return Buffer.from(JSON.stringify(served.body));
}

describe('the last-good snapshot on a real redis-server', () => {
  test('when the service starts with Redis down and a snapshot for its splits, then /traefik serves it as stale, /ready and the status say so, and fresh weights follow once Redis answers', async () => {
    const prefix = uniquePrefix('snap');
    const servedBefore = await snapshotWithCanary100(prefix);
    await redisServer.kill();

    const svc = await start(redisServer.url, prefix);
    const res = await request(svc.listener).get('/traefik').expect(200);
    expect(res.headers['x-config-stale']).toBe('true');
    expect(Buffer.from(JSON.stringify(res.body)).equals(servedBefore)).toBe(true);
    expect(canaryWeight(res.body)).toBe(100);
    expect(res.body.http.services.council.weighted.services).toEqual([
      { name: 'council-canary', weight: 100 },
    ]);
    expect(logs.join('\n')).toContain('serving the last-good snapshot until it answers');

    const ready = await request(svc.app).get('/ready').expect(503);
    expect(ready.body).toMatchObject({ status: 'not ready', source: 'snapshot' });
    expect(ready.body.snapshot.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(ready.body.snapshot.writtenAt)).toBeLessThanOrEqual(Date.now());
    expect(ready.body.reasons.join(' ')).toContain('serving the last-good snapshot');

    const status = await request(svc.app).get('/api/v1/splits/council').expect(200);
    expect(status.body).toMatchObject({
      source: 'snapshot',
      stale: true,
      weights: { served: { main: 0, canary: 100 }, stored: null },
      shares: { main: 0, canary: 100 },
    });
    expect(status.body.snapshot.writtenAt).toBe(ready.body.snapshot.writtenAt);

    // Redis comes back empty (no persistence in the harness): its defaults are served, fresh.
    await redisServer.restart();
    await waitUntil(
      'fresh weights from Redis',
      async () => {
        const r = await request(svc.listener).get('/traefik');
        return r.status === 200 && r.headers['x-config-stale'] === undefined;
      },
      15_000,
      100,
    );
    const fresh = await request(svc.listener).get('/traefik').expect(200);
    expect(canaryWeight(fresh.body)).toBeUndefined();
    const after = await request(svc.app).get('/api/v1/splits/council').expect(200);
    expect(after.body).toMatchObject({ source: 'default', stale: false });
    expect(after.body.snapshot).toBeUndefined();
    await request(svc.app).get('/ready').expect(200);
  });

  test('when the snapshot was written for another splits file, then the service ignores it with a log line and answers 503', async () => {
    const prefix = uniquePrefix('snap-other');
    await snapshotWithCanary100(prefix);
    await redisServer.kill();

    const other = structuredClone(SPLITS_DOCUMENT);
    other.splits.council.backends.canary.servers = ['http://127.0.0.1:9002'];
    const svc = await start(redisServer.url, prefix, other);
    const res = await request(svc.listener).get('/traefik').expect(503);
    expect(res.body.title).toBe('NO_CONFIGURATION_YET');
    const line = logs.find((l) => l.includes('written for another splits file'));
    expect(line).toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({
      level: 40,
      file,
      splitsHash: splitsHashOf(parseSplitsDocument(other, 'x')),
      snapshotSplitsHash: splitsHashOf(splits),
    });
    const ready = await request(svc.app).get('/ready').expect(503);
    expect(ready.body.source).toBe('none');
  });

  test('when the snapshot is corrupt, then the service ignores it with a log line, answers 503, and rewrites it once Redis answers', async () => {
    const prefix = uniquePrefix('snap-corrupt');
    await snapshotWithCanary100(prefix);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 100));
    await redisServer.kill();

    const svc = await start(redisServer.url, prefix);
    await request(svc.listener).get('/traefik').expect(503);
    const line = logs.find((l) => l.includes('ignored the last-good snapshot'));
    expect(line).toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({ level: 40, file });
    expect(JSON.parse(line as string).reason).toMatch(/^is not JSON/);

    await redisServer.restart();
    await waitUntil(
      'a good snapshot again',
      async () => (await readSnapshotFile(file, splitsHashOf(splits))).kind === 'ok',
      15_000,
      100,
    );
  });
});
