import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadEnv } from '../../src/config/env';
import { redisOptionsOf, redisTargetOf } from '../../src/store/redis-client';

describe('Redis TLS options', () => {
  let dir: string;
  let ca: string;
  let cert: string;
  let key: string;
  const sentinel = { REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'main' };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-redis-tls-'));
    ca = path.join(dir, 'ca.pem');
    cert = path.join(dir, 'client.pem');
    key = path.join(dir, 'client.key');
    fs.writeFileSync(ca, 'CA PEM');
    fs.writeFileSync(cert, 'CERT PEM');
    fs.writeFileSync(key, 'KEY PEM');
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const optionsOf = (env: Record<string, string>) =>
    redisOptionsOf(redisTargetOf(loadEnv(env)), 'test');

  test('when nothing asks for TLS, then no connection uses it', () => {
    expect(optionsOf({}).tls).toBeUndefined();
    const s = optionsOf(sentinel);
    expect(s.tls).toBeUndefined();
    expect(s.sentinelTLS).toBeUndefined();
    expect(s.enableTLSForSentinelMode).toBeUndefined();
  });

  test('when REDIS_TLS=true with the CA and a client certificate, then one server gets them as PEM contents', () => {
    const o = optionsOf({
      REDIS_URL: 'redis://r:6380',
      REDIS_TLS: 'true',
      REDIS_TLS_CA_FILE: ca,
      REDIS_TLS_CERT_FILE: cert,
      REDIS_TLS_KEY_FILE: key,
    });
    expect(o.tls).toEqual({ ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' });
  });

  test('when REDIS_URL is rediss://, then TLS is on with the system CAs, or the CA file given', () => {
    expect(optionsOf({ REDIS_URL: 'rediss://r:6380' }).tls).toEqual({});
    expect(optionsOf({ REDIS_URL: 'rediss://r:6380', REDIS_TLS_CA_FILE: ca }).tls).toEqual({
      ca: 'CA PEM',
    });
  });

  test('when Sentinel mode has REDIS_TLS=true, then the data nodes and the Sentinels both use TLS', () => {
    const o = optionsOf({ ...sentinel, REDIS_TLS: 'yes', REDIS_TLS_CA_FILE: ca });
    expect(o.tls).toEqual({ ca: 'CA PEM' });
    expect(o.enableTLSForSentinelMode).toBe(true);
    expect(o.sentinelTLS).toEqual({ ca: 'CA PEM' });
  });

  test('when REDIS_SENTINEL_TLS differs from REDIS_TLS, then each side gets what it asks for', () => {
    const dataOnly = optionsOf({ ...sentinel, REDIS_TLS: 'true', REDIS_SENTINEL_TLS: 'false' });
    expect(dataOnly.tls).toEqual({});
    expect(dataOnly.enableTLSForSentinelMode).toBe(true);
    expect(dataOnly.sentinelTLS).toBeUndefined();
    const sentinelsOnly = optionsOf({ ...sentinel, REDIS_SENTINEL_TLS: '1' });
    expect(sentinelsOnly.tls).toBeUndefined();
    expect(sentinelsOnly.enableTLSForSentinelMode).toBeUndefined();
    expect(sentinelsOnly.sentinelTLS).toEqual({});
  });

  test.each([
    [{ REDIS_TLS: 'maybe' }, /REDIS_TLS: must be true or false/],
    [{ REDIS_TLS_CA_FILE: '/etc/ca.pem' }, /REDIS_TLS_CA_FILE: only applies with TLS/],
    [
      { REDIS_URL: 'rediss://r:6380', REDIS_TLS: 'false' },
      /REDIS_TLS: is false but REDIS_URL is rediss:\/\//,
    ],
    [
      { REDIS_TLS: 'true', REDIS_TLS_CERT_FILE: '/etc/client.pem' },
      /REDIS_TLS_KEY_FILE: a client certificate needs its key/,
    ],
    [{ REDIS_SENTINEL_TLS: 'true' }, /REDIS_SENTINEL_TLS: only applies with REDIS_SENTINELS/],
    [
      { REDIS_TLS: 'true', REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' },
      /REDIS_TLS_CA_FILE: cannot read \/nonexistent\/ca.pem \(ENOENT\)/,
    ],
  ])('when %j, then start-up fails naming what to change', (env, expected) => {
    expect(() => loadEnv(env)).toThrow(expected);
  });
});
