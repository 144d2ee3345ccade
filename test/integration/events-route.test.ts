import http from 'node:http';
import { sleep } from '../../scripts/lib/child-process';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log/logger';
import { ChangeFeed } from '../../src/http/change-feed';
import { errorHandler } from '../../src/http/error-handler';
import { eventsRoute } from '../../src/http/routes/events-route';
import { startRedisServer, type RedisServerHandle } from '../../scripts/lib/redis-process';
import {
  SPLITS_WITH_ROLLOUT,
  startServiceUnderTest,
  type ServiceUnderTest,
} from '../helpers/service';
import { ADMIN_JSON_HEADERS } from '../helpers/admin-api-request';

interface SseFrame {
  event?: string;
  id?: string;
  data?: string;
  comment?: string;
  retry?: string;
}

/** An open GET /api/v1/events, its frames parsed as they arrive. */
interface Stream {
  status: number;
  contentType: string;
  frames: SseFrame[];
  /** Resolves with the first frame (already received or to come) that matches. */
  next(match: (f: SseFrame) => boolean, timeoutMs?: number): Promise<SseFrame>;
  close(): void;
}

async function openStream(url: string): Promise<Stream> {
  const controller = new AbortController();
  const res = await fetch(url, {
    headers: { Accept: 'text/event-stream' },
    signal: controller.signal,
  });
  const frames: SseFrame[] = [];
  const waiters = new Set<() => void>();
  if (res.ok && res.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame: SseFrame = {};
            for (const line of buffer.slice(0, end).split('\n')) {
              if (line.startsWith(':')) frame.comment = line.slice(1).trim();
              const m = /^(event|id|data|retry): ?(.*)$/.exec(line);
              if (m) frame[m[1] as 'event'] = m[2];
            }
            buffer = buffer.slice(end + 2);
            frames.push(frame);
            for (const w of [...waiters]) w();
          }
        }
      } catch {
        // aborted by close()
      }
    })();
  }
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    frames,
    next: (match, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = frames.find(match);
          if (found) {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve(found);
          }
          return found !== undefined;
        };
        const wake = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(
            new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(frames)}`),
          );
        }, timeoutMs);
        waiters.add(wake);
        check();
      }),
    close: () => controller.abort(),
  };
}

const dataOf = (f: SseFrame): Record<string, unknown> => JSON.parse(f.data ?? 'null');

describe('GET /api/v1/events on its own', () => {
  let server: http.Server;
  let url: string;
  const feed = new ChangeFeed();

  beforeAll(async () => {
    const app = express();
    app.use('/api/v1', eventsRoute({ feed, maxClients: 2, heartbeatMs: 100 }));
    app.use(errorHandler(createLogger('silent')));
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/events`;
  });

  afterAll(async () => {
    feed.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('when a change is published, then each open stream gets it after ready, with an id', async () => {
    const a = await openStream(url);
    const b = await openStream(url);
    await a.next((f) => f.event === 'ready');
    await b.next((f) => f.event === 'ready');

    feed.publish({ type: 'audit', split: 'council' });

    for (const s of [a, b]) {
      const f = await s.next((x) => x.event === 'audit');
      expect(dataOf(f)).toEqual({ type: 'audit', split: 'council' });
      expect(f.id).toBe('1');
    }
    expect(a.status).toBe(200);
    expect(a.contentType).toMatch(/^text\/event-stream/);
    expect(a.frames[0].retry).toBe('1000');
    a.close();
    b.close();
  });

  test('when a stream is idle, then heartbeat comments keep coming', async () => {
    const s = await openStream(url);

    const beat = await s.next((f) => f.comment === 'heartbeat', 3000);

    expect(beat.comment).toBe('heartbeat');
    s.close();
  });

  test('when the most streams are open, then one more is refused with 503 and a slot frees on close', async () => {
    await waitForListeners(feed, 0);
    const a = await openStream(url);
    const b = await openStream(url);
    await waitForListeners(feed, 2);

    const res = await fetch(url, { headers: { Accept: 'text/event-stream' } });
    const problem = (await res.json()) as { title: string; detail: string };

    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(problem.title).toBe('TOO_MANY_STREAMS');
    expect(problem.detail).toMatch(/2 event streams are open/);
    a.close();
    await waitForListeners(feed, 1);
    const c = await openStream(url);
    expect(c.status).toBe(200);
    b.close();
    c.close();
  });

  test('when the request does not accept an event stream, then 406 says what to send', async () => {
    const res = await fetch(url, { headers: { Accept: 'application/json' } });
    const problem = (await res.json()) as { title: string; detail: string };

    expect(res.status).toBe(406);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(problem.detail).toMatch(/Accept: text\/event-stream/);
  });
});

async function waitForListeners(feed: ChangeFeed, n: number): Promise<void> {
  const until = Date.now() + 5000;
  while (feed.listenerCount !== n) {
    if (Date.now() > until) throw new Error(`expected ${n} listeners, have ${feed.listenerCount}`);
    await sleep(10);
  }
}

describe('GET /api/v1/events through the service on a real redis-server', () => {
  let redisServer: RedisServerHandle;
  let redis: Redis;
  let svc: ServiceUnderTest;
  let stream: Stream;
  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = new Redis(redisServer.url);
    svc = await startServiceUnderTest({ redisUrl: redisServer.url, splits: SPLITS_WITH_ROLLOUT });
  });

  beforeEach(async () => {
    stream = await openStream(`${svc.url}/api/v1/events`);
    await stream.next((f) => f.event === 'ready');
  });

  afterEach(() => stream.close());

  afterAll(async () => {
    await svc?.stop();
    await svc?.cleanup(redis);
    redis?.disconnect();
    await redisServer?.stop();
  });

  test('when the API scales a split, then a weights event carries what is served now', async () => {
    const res = await fetch(`${svc.url}/api/v1/splits/search/scale`, {
      method: 'POST',
      headers: ADMIN_JSON_HEADERS,
      body: JSON.stringify({ percent: 30 }),
    });
    expect(res.status).toBe(200);

    const f = await stream.next((x) => x.event === 'weights' && dataOf(x).split === 'search');

    expect(dataOf(f)).toEqual({
      type: 'weights',
      split: 'search',
      served: { blue: 70, green: 30, shadow: 0 },
      source: 'redis',
      valid: true,
      problems: [],
    });
  });

  test('when redis-cli writes, then a weights event and then an audit event follow', async () => {
    redisServer.cli('HSET', `${svc.prefix}weights:council`, 'main', '80', 'canary', '20');

    const weights = await stream.next(
      (x) => x.event === 'weights' && dataOf(x).split === 'council',
    );
    const audit = await stream.next((x) => x.event === 'audit' && dataOf(x).split === 'council');

    expect(dataOf(weights).served).toEqual({ main: 80, canary: 20 });
    expect(Number(audit.id)).toBeGreaterThan(Number(weights.id));
  });

  test('when redis-cli writes invalid weights, then the event says so and keeps the served ones', async () => {
    redisServer.cli('HSET', `${svc.prefix}weights:council`, 'main', 'lots', 'canary', '20');

    const f = await stream.next(
      (x) => x.event === 'weights' && dataOf(x).split === 'council' && dataOf(x).valid === false,
    );

    expect(dataOf(f).source).toBe('last-valid');
    expect(dataOf(f).served).toEqual({ main: 80, canary: 20 });
    expect((dataOf(f).problems as string[]).length).toBeGreaterThan(0);
  });

  test('when a rollout starts and is paused, then rollout events show each status', async () => {
    // A rollout starts only from stable 100 % (or at most its first step): earlier tests left 20 %.
    redisServer.cli('HSET', `${svc.prefix}weights:council`, 'main', '100', 'canary', '0');
    await stream.next(
      (x) =>
        x.event === 'weights' &&
        dataOf(x).split === 'council' &&
        (dataOf(x).served as Record<string, number>).canary === 0,
    );
    /** POSTs `body` to the council rollout (or to its `/action`), as the operator. */
    const command = (action: string, body: unknown) =>
      fetch(`${svc.url}/api/v1/splits/council/rollout${action}`, {
        method: 'POST',
        headers: ADMIN_JSON_HEADERS,
        body: JSON.stringify(body),
      });
    const rolloutEvent = (status: string) =>
      stream.next(
        (x) =>
          x.event === 'rollout' &&
          (dataOf(x).rollout as { status?: string } | null)?.status === status,
      );

    const started = await command('', { version: '1.5.0' });
    expect(started.status).toBe(202);
    const progressing = await rolloutEvent('progressing');

    const paused = await command('/pause', { reason: 'looking' });
    expect(paused.status).toBe(200);
    const f = await rolloutEvent('paused');

    expect(dataOf(progressing).split).toBe('council');
    expect((dataOf(f).rollout as { step: number }).step).toBe(1);
  });
});
