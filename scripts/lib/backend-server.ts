import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BackendHandle {
  /** Base URL, e.g. `http://127.0.0.1:41234`, as a Traefik loadBalancer server URL. */
  url: string;
  port: number;
  name: string;
  /** How many requests this backend has answered since it started. */
  requests(): number;
  stop(): Promise<void>;
}

/**
 * Starts an HTTP server on a free loopback port that answers every request with 200, the header
 * `X-Backend: <name>` and the body `{"backend":"<name>"}`, so a test can tell which backend
 * Traefik picked from either the header or the body. `port` binds a given port (to start a
 * backend again where Traefik expects it); by default the kernel picks a free one.
 */
export async function startBackend(
  name: string,
  options: { port?: number } = {},
): Promise<BackendHandle> {
  let count = 0;
  const body = JSON.stringify({ backend: name });
  const server = http.createServer((req, res) => {
    count += 1;
    // Drain the request so keep-alive connections from Traefik stay reusable.
    req.resume();
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'X-Backend': name,
    });
    res.end(body);
  });
  // Port 0 lets the kernel pick: no race between probing a free port and binding it.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    name,
    requests: () => count,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) {
          resolve();
          return;
        }
        // Traefik holds idle keep-alive connections; without this close() would wait for them.
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
