/**
 * The baseline: a bare node:http server answering fixed bytes (BENCH_BODY, and BENCH_BODY_GZIP
 * when the request accepts gzip) with the headers a JSON answer needs and nothing else. It is what
 * serving a prepared body costs with no application around it. Reports `{ url }` over IPC.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const body = fs.readFileSync(process.env.BENCH_BODY ?? '');
const gzip = fs.readFileSync(process.env.BENCH_BODY_GZIP ?? '');

const server = http.createServer((req, res) => {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  if ((req.headers['accept-encoding'] ?? '').includes('gzip')) {
    res.setHeader('Content-Encoding', 'gzip');
    res.end(gzip);
    return;
  }
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ url: `http://127.0.0.1:${port}` });
});
const stop = (): void => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('disconnect', stop);
