import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens on 127.0.0.1 and answers the port and base URL. Port 0 (the default) lets the kernel
 * pick: no race between probing a free port and binding it.
 */
export async function listenOnLoopback(
  server: Server,
  port = 0,
): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return { port: bound, url: `http://127.0.0.1:${bound}` };
}

/**
 * Closes the server with its idle keep-alive connections (Traefik and undici hold them; close()
 * alone would wait for them); at once when it is not listening.
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.closeAllConnections();
    server.close((err) => (err ? reject(err) : resolve()));
  });
}
