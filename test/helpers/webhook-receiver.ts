import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep } from '../../scripts/lib/child-process';

export interface ReceivedHook {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when it is not JSON. */
  body: unknown;
  at: number;
}

export interface WebhookReceiverHandle {
  url: string;
  /** Every request received, in order, including those answered with a failure. */
  received: ReceivedHook[];
  /** Requests received on `path` and answered 2xx. */
  delivered(path: string): ReceivedHook[];
  /** Answers the next `count` requests with `status` (e.g. 500), then 200 again. */
  failNext(count: number, status: number): void;
  /** Delays every answer by `ms` (to provoke client timeouts). */
  delay(ms: number): void;
  /** Waits until `path` has `count` delivered requests (or throws after timeoutMs). */
  waitFor(path: string, count: number, timeoutMs?: number): Promise<ReceivedHook[]>;
  stop(): Promise<void>;
}

/**
 * A local HTTP server standing in for Slack's incoming webhooks and for a generic webhook: it
 * records every POST with its path, headers and JSON body, and can be told to fail or be slow.
 */
export async function startWebhookReceiver(): Promise<WebhookReceiverHandle> {
  const received: ReceivedHook[] = [];
  const ok = new Set<ReceivedHook>();
  let failures: { count: number; status: number } = { count: 0, status: 200 };
  let delayMs = 0;
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
      const hook: ReceivedHook = {
        path: req.url ?? '/',
        headers: req.headers,
        body,
        at: Date.now(),
      };
      received.push(hook);
      let status = 200;
      if (failures.count > 0) {
        failures = { ...failures, count: failures.count - 1 };
        status = failures.status;
      }
      if (status < 300) ok.add(hook);
      const answer = () => {
        if (!res.writableEnded && !res.destroyed)
          res.writeHead(status, { 'Content-Type': 'text/plain' }).end('ok');
      };
      if (delayMs > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          answer();
        }, delayMs);
        timers.add(t);
      } else {
        answer();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const delivered = (path: string) => received.filter((h) => h.path === path && ok.has(h));

  return {
    url: `http://127.0.0.1:${port}`,
    received,
    delivered,
    failNext: (count, status) => {
      failures = { count, status };
    },
    delay: (ms) => {
      delayMs = ms;
    },
    waitFor: async (path, count, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (delivered(path).length < count) {
        if (Date.now() > deadline) {
          throw new Error(
            `timed out after ${timeoutMs} ms waiting for ${count} deliveries on ${path}; got ${JSON.stringify(delivered(path).map((h) => h.body))}`,
          );
        }
        await sleep(25);
      }
      return delivered(path);
    },
    stop: async () => {
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
