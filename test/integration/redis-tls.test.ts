/**
 * REDIS_TLS against a real redis-server listening with `--tls-port` and requiring client
 * certificates: a throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made
 * with the real openssl.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { putWeights } from '../helpers/admin-api-request';
import { freePort } from '../../scripts/lib/ports';
import { startServiceUnderTest, type ServiceUnderTest } from '../helpers/service';
import { startOwnRedisServer, type RedisServerHandle } from '../../scripts/lib/redis-process';

jest.setTimeout(60_000);

function openssl(dir: string, ...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** A CA, and a server (for 127.0.0.1) and a client certificate signed by it. */
function makeCertificates(dir: string): void {
  openssl(
    dir,
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
    ...['-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=test-ca'],
  );
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const name of ['server', 'client']) {
    openssl(
      dir,
      ...['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`],
      ...['-out', `${name}.csr`, '-subj', `/CN=${name}`],
    );
    openssl(
      dir,
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key'],
      ...['-CAcreateserial', '-out', `${name}.pem`, '-days', '1'],
      ...(name === 'server' ? ['-extfile', 'server.ext'] : []),
    );
  }
}

describe('TLS to a real Redis', () => {
  let dir: string;
  let redisServer: RedisServerHandle;
  let tlsPort: number;
  const services: ServiceUnderTest[] = [];
  const file = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-redis-tls-'));
    makeCertificates(dir);
    tlsPort = await freePort();
    redisServer = await startOwnRedisServer([
      ...['--tls-port', String(tlsPort)],
      ...['--tls-cert-file', file('server.pem'), '--tls-key-file', file('server.key')],
      ...['--tls-ca-cert-file', file('ca.pem'), '--tls-auth-clients', 'yes'],
    ]);
  });

  afterAll(async () => {
    for (const s of services) await s.stop();
    await redisServer?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = async (env: Record<string, string>): Promise<ServiceUnderTest> => {
    const svc = await startServiceUnderTest({
      redisUrl: `redis://127.0.0.1:${tlsPort}`,
      env: { RESYNC_INTERVAL_MS: '200', ...env },
    });
    services.push(svc);
    return svc;
  };

  test('when REDIS_TLS=true with the CA and a client certificate, then the service reads and writes over TLS', async () => {
    const svc = await start({
      REDIS_TLS: 'true',
      REDIS_TLS_CA_FILE: file('ca.pem'),
      REDIS_TLS_CERT_FILE: file('client.pem'),
      REDIS_TLS_KEY_FILE: file('client.key'),
    });
    const ready = await request(`${svc.url}/ready`);
    expect(ready.statusCode).toBe(200);
    await ready.body.text();

    const put = await putWeights(svc.url, 'council', { main: 70, canary: 30 });
    expect(put).toBe(200);
    // Seen on the server's plain port: the write went to this Redis, through its TLS port.
    expect(redisServer.cli('HGET', `${svc.prefix}weights:council`, 'canary').trim()).toBe('30');
  });

  test('when the client certificate is missing, then the TLS port refuses the service and /ready says Redis has not answered', async () => {
    const svc = await start({ REDIS_TLS: 'true', REDIS_TLS_CA_FILE: file('ca.pem') });
    const ready = await request(`${svc.url}/ready`);
    expect(ready.statusCode).toBe(503);
    const body = (await ready.body.json()) as { reasons: string[] };
    expect(body.reasons.join('\n')).toMatch(/Redis has not answered yet/);
  });
});
