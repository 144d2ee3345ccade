import http from 'node:http';
import express from 'express';
import { Agent, request } from 'undici';
import { errorHandler } from '../../src/http/error-handler';
import { openReadLimit, type OpenReadLimit } from '../../src/http/open-read-limit';
import { createLogger } from '../../src/log/logger';
import { closeServer, listenOnLoopback } from '../../scripts/lib/loopback-server';
import { sleep } from '../../scripts/lib/child-process';

const TOKEN = 'open-read-admin-token-0123';

type App = Awaited<ReturnType<typeof startApp>>;

/** An app whose GET /slow answers only when the test says so, behind the limit. */
async function startApp(concurrency: number, queue: number) {
  const outcomes: string[] = [];
  const limit: OpenReadLimit = openReadLimit({
    concurrency,
    queue,
    adminToken: TOKEN,
    onOutcome: (o) => outcomes.push(o),
  });
  const pending: (() => void)[] = [];
  let started = 0;
  const app = express();
  app.use(limit.handler);
  app.get('/slow', (_req, res) => {
    started++;
    pending.push(() => res.json({ ok: true }));
  });
  app.put('/slow', (_req, res) => {
    res.json({ written: true });
  });
  app.use(errorHandler(createLogger('silent')));
  const server = http.createServer(app);
  const { url } = await listenOnLoopback(server);
  const agent = new Agent({ connections: 20 });
  return {
    /** A request to /slow on the app's own connections (GET unless `options` says otherwise). */
    slow: (options: Parameters<typeof request>[1] = {}) =>
      request(`${url}/slow`, { dispatcher: agent, ...options }),
    limit,
    outcomes,
    pending,
    started: () => started,
    answerOne: () => pending.shift()?.(),
    close: async () => {
      for (const answer of pending.splice(0)) answer();
      await agent.close();
      await closeServer(server);
    },
  };
}

/** Runs `test` against a fresh app, closed after it whatever the outcome. */
async function withApp(concurrency: number, queue: number, test: (app: App) => Promise<void>) {
  const app = await startApp(concurrency, queue);
  try {
    await test(app);
  } finally {
    await app.close();
  }
}

const waitFor = async (what: string, cond: () => boolean): Promise<void> => {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
};

describe('openReadLimit', () => {
  test('when the slots and the queue are full, then the next read is refused at once with 503, Retry-After and problem type open-reads-busy, and a waiting read is served when a slot frees', async () => {
    await withApp(2, 1, async (app) => {
      const first = [app.slow(), app.slow()];
      await waitFor('two reads served', () => app.started() === 2);
      const queued = app.slow();
      await waitFor('one read waiting', () => app.limit.load().waiting === 1);

      const refused = await app.slow();
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = (await refused.body.json()) as { title: string; detail: string };
      expect(problem.title).toBe('OPEN_READS_BUSY');
      expect(problem.detail).toContain('OPEN_READ_CONCURRENCY');
      expect(app.started()).toBe(2);

      app.answerOne();
      await waitFor('the waiting read to start', () => app.started() === 3);
      expect(app.limit.load()).toEqual({ active: 2, waiting: 0 });
      app.answerOne();
      app.answerOne();
      const answers = await Promise.all([...first, queued]);
      expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 200]);
      await Promise.all(answers.map((r) => r.body.text()));
      await waitFor('every slot free', () => app.limit.load().active === 0);
      expect(app.outcomes).toEqual(['served', 'served', 'queued', 'refused']);
    });
  });

  test('when every slot is taken, then a read with the admin token and a write still pass, and a wrong token does not', async () => {
    await withApp(1, 0, async (app) => {
      const busy = app.slow();
      await waitFor('the slot taken', () => app.started() === 1);

      const wrong = await app.slow({
        headers: { authorization: 'Bearer not-the-admin-token-at-all' },
      });
      expect(wrong.statusCode).toBe(503);
      await wrong.body.text();

      const operator = app.slow({
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      await waitFor('the operator read to start', () => app.started() === 2);
      const write = await app.slow({ method: 'PUT' });
      expect(write.statusCode).toBe(200);
      expect(await write.body.json()).toEqual({ written: true });

      app.answerOne();
      app.answerOne();
      expect((await busy).statusCode).toBe(200);
      expect((await operator).statusCode).toBe(200);
    });
  });

  test('when a waiting client goes away, then its place in the queue is freed', async () => {
    await withApp(1, 1, async (app) => {
      const busy = app.slow();
      await waitFor('the slot taken', () => app.started() === 1);
      const controller = new AbortController();
      const leaving = app
        .slow({
          signal: controller.signal,
        })
        .catch((err: Error) => err.name);
      await waitFor('one read waiting', () => app.limit.load().waiting === 1);
      controller.abort();
      expect(await leaving).toBe('AbortError');
      await waitFor('the queue empty', () => app.limit.load().waiting === 0);

      const next = app.slow();
      await waitFor('the next read waiting', () => app.limit.load().waiting === 1);
      app.answerOne();
      await waitFor('the next read to start', () => app.started() === 2);
      app.answerOne();
      expect((await busy).statusCode).toBe(200);
      expect((await next).statusCode).toBe(200);
      await waitFor('every slot free', () => app.limit.load().active === 0);
    });
  });
});
