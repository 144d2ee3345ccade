/**
 * The listening server bounds what a slow or greedy client can hold: headers and the whole request
 * must arrive in time, and connections beyond the cap are closed at once.
 */
import net from 'node:net';
import { startRedisServer, type RedisServerHandle } from '../../scripts/lib/redis-process';
import { startServiceUnderTest, type ServiceUnderTest } from '../helpers/service';

jest.setTimeout(30_000);

/** Resolves with what the server sent before it closed the socket, or 'open' after `ms`. */
function untilClosed(socket: net.Socket, ms: number): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    const timer = setTimeout(() => resolve('open'), ms);
    socket.on('data', (d) => (received += d.toString()));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', () => undefined);
  });
}

describe('server limits', () => {
  let redisServer: RedisServerHandle;
  let svc: ServiceUnderTest;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    redisServer = await startRedisServer();
    svc = await startServiceUnderTest({
      redisUrl: redisServer.url,
      env: {
        HTTP_HEADERS_TIMEOUT_MS: '1000',
        HTTP_REQUEST_TIMEOUT_MS: '2000',
        HTTP_MAX_CONNECTIONS: '3',
      },
    });
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await svc?.stop();
    await redisServer?.stop();
  });

  const connect = async (): Promise<net.Socket> => {
    const socket = net.connect(svc.port, '127.0.0.1');
    sockets.push(socket);
    await new Promise((r) => socket.once('connect', r));
    return socket;
  };

  test('when the environment sets limits, then the server has them', () => {
    expect([
      svc.server.headersTimeout,
      svc.server.requestTimeout,
      svc.server.maxConnections,
    ]).toEqual([1000, 2000, 3]);
  });

  test('when a client never finishes its headers, then it gets 408 and is closed', async () => {
    const socket = await connect();
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    const got = await untilClosed(socket, 10_000);
    expect(got).toMatch(/^HTTP\/1\.1 408/);
  });

  test('when more connections than the cap are open, then the extra one is closed at once', async () => {
    const held = await Promise.all([connect(), connect(), connect()]);
    for (const s of held) s.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    const extra = await connect();
    extra.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await untilClosed(extra, 5_000)).toBe('');
    for (const s of held) s.destroy();
  });
});
