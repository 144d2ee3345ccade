import http from 'node:http';
import { closeServer, listenOnLoopback } from './loopback-server';

export interface BackendHandle {
  /** Base URL, e.g. `http://127.0.0.1:41234`, as a Traefik loadBalancer server URL. */
  url: string;
  port: number;
  name: string;
  /** How many requests this backend has answered since it started. */
  requests(): number;
  /** Date.now() when the last request arrived; undefined before the first. */
  lastRequestAt(): number | undefined;
  /** How many of those it answered with 500 (see `errorRate`). */
  errors(): number;
  /** Changes how it answers from the next request on; omitted fields keep their value. */
  set(behaviour: BackendBehaviour): void;
  stop(): Promise<void>;
}

/** How a backend answers: by default every request at once with 200. */
export interface BackendBehaviour {
  /**
   * Share of requests answered with 500, 0 to 1. Spread evenly and deterministically (with 0.4,
   * 2 of every 5 requests), so a test that counts requests knows how many failed.
   */
  errorRate?: number;
  /** Added before answering, in ms (a slow release). */
  delayMs?: number;
}

/**
 * Starts an HTTP server on a free loopback port that answers every request with 200, the header
 * `X-Backend: <name>` and the body `{"backend":"<name>"}`, so a test can tell which backend
 * Traefik picked from either the header or the body. `port` binds a given port (to start a
 * backend again where Traefik expects it); by default the kernel picks a free one. `errorRate`
 * and `delayMs` (also settable later with `set`) make it a bad release: some answers 500, or
 * every answer late.
 */
export async function startBackend(
  name: string,
  options: { port?: number } & BackendBehaviour = {},
): Promise<BackendHandle> {
  let count = 0;
  let errorCount = 0;
  let lastAt: number | undefined;
  let errorRate = 0;
  let delayMs = 0;
  const set = (behaviour: BackendBehaviour): void => {
    if (behaviour.errorRate !== undefined) {
      if (!(behaviour.errorRate >= 0 && behaviour.errorRate <= 1)) {
        throw new Error(`errorRate must be between 0 and 1, got ${behaviour.errorRate}`);
      }
      errorRate = behaviour.errorRate;
    }
    if (behaviour.delayMs !== undefined) {
      if (!(behaviour.delayMs >= 0))
        throw new Error(`delayMs must be >= 0, got ${behaviour.delayMs}`);
      delayMs = behaviour.delayMs;
    }
  };
  set(options);
  // Errors owed so far: each request adds errorRate, each 500 pays one back.
  let owed = 0;
  const body = JSON.stringify({ backend: name });
  const failure = JSON.stringify({ backend: name, error: 'injected failure' });
  const server = http.createServer((req, res) => {
    count += 1;
    lastAt = Date.now();
    owed += errorRate;
    const fail = owed >= 1 - 1e-9;
    if (fail) {
      owed -= 1;
      errorCount += 1;
    }
    // Drain the request so keep-alive connections from Traefik stay reusable.
    req.resume();
    const answer = (): void => {
      const text = fail ? failure : body;
      res.writeHead(fail ? 500 : 200, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
        'X-Backend': name,
      });
      res.end(text);
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
  const { port, url } = await listenOnLoopback(server, options.port);

  return {
    url,
    port,
    name,
    requests: () => count,
    lastRequestAt: () => lastAt,
    errors: () => errorCount,
    set,
    stop: () => closeServer(server),
  };
}
