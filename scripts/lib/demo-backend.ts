import http from 'node:http';
import { closeServer, listenOnLoopback } from './loopback-server';

export interface DemoBackendHandle {
  /** Base URL, e.g. `http://127.0.0.1:41234`, as a Traefik loadBalancer server URL. */
  url: string;
  name: string;
  /** Makes this share (0..1) of the answers 500s: a bad canary. */
  setErrorRate(rate: number): void;
  stop(): Promise<void>;
}

/**
 * A demo backend that names itself (`X-Backend: <name>`, body `{"backend","version"}`) and exports
 * `demo_requests_total{backend,code}` on /metrics, so a Prometheus check can see a bad canary's
 * errors. Deterministic errors: from the moment a rate is set, answers fail whenever the failures fall
 * behind that share.
 */
export async function startDemoBackend(name: string, version: string): Promise<DemoBackendHandle> {
  const counts = new Map<number, number>();
  let errorRate = 0;
  let served = 0;
  let failed = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/metrics') {
      const lines = ['# TYPE demo_requests_total counter'];
      for (const code of [200, 500]) {
        lines.push(
          `demo_requests_total{backend="${name}",code="${code}"} ${counts.get(code) ?? 0}`,
        );
      }
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end(`${lines.join('\n')}\n`);
      return;
    }
    served += 1;
    // Fail whenever the failures so far fall behind the asked share.
    const fail = failed < errorRate * served;
    if (fail) failed += 1;
    const code = fail ? 500 : 200;
    counts.set(code, (counts.get(code) ?? 0) + 1);
    const body = JSON.stringify({ backend: name, version, ...(fail && { error: 'demo failure' }) });
    res.writeHead(code, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'X-Backend': name,
    });
    res.end(body);
  });
  const { url } = await listenOnLoopback(server);
  return {
    url,
    name,
    setErrorRate: (rate) => {
      errorRate = Math.min(1, Math.max(0, rate));
      // The share counts from now on.
      served = 0;
      failed = 0;
    },
    stop: () => closeServer(server),
  };
}
