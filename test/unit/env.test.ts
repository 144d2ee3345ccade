import { loadEnv } from '../../src/config/env';

describe('environment', () => {
  test('when nothing is set, then the documented defaults apply', () => {
    const env = loadEnv({});
    expect(env).toMatchObject({
      PORT: 9500,
      HOST: '127.0.0.1',
      REDIS_URL: 'redis://127.0.0.1:6379',
      KEY_PREFIX: 'canary:',
      SPLITS_FILE: './splits.yaml',
      METRICS_PREFIX: 'swarm_',
      LOG_LEVEL: 'info',
      TRAEFIK_API_URLS: [],
    });
    expect(env.PROVIDER_TOKEN).toBeUndefined();
    expect(env.ADMIN_TOKEN).toBeUndefined();
  });

  test.each([
    [{ PORT: 'http' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL: must be a redis:// or rediss:// URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN: must be at least 16 characters'],
    [{ TRAEFIK_API_URLS: 'http://a:8080,ftp://b' }, 'TRAEFIK_API_URLS'],
    [{ METRICS_PREFIX: 'bad-prefix' }, 'METRICS_PREFIX'],
  ])('when %j, then the error names the variable', (env, expected) => {
    expect(() => loadEnv(env)).toThrow(expected);
  });

  test('when TRAEFIK_API_URLS lists several, then they are split and trimmed', () => {
    expect(
      loadEnv({ TRAEFIK_API_URLS: ' http://a:8080/ , http://b:8080' }).TRAEFIK_API_URLS,
    ).toEqual(['http://a:8080', 'http://b:8080']);
  });
});

describe('environment: tokens and server limits', () => {
  test('when ADMIN_TOKEN equals PROVIDER_TOKEN, then the start is refused with a clear message', () => {
    const token = 'the-same-token-0123456789';
    expect(() => loadEnv({ ADMIN_TOKEN: token, PROVIDER_TOKEN: token })).toThrow(
      'ADMIN_TOKEN: must differ from PROVIDER_TOKEN',
    );
    expect(() => loadEnv({ ADMIN_TOKEN: token, PROVIDER_TOKEN: `${token}x` })).not.toThrow();
  });

  test('when nothing is set, then the server limits are bounded', () => {
    expect(loadEnv({})).toMatchObject({
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_MAX_CONNECTIONS: 1024,
    });
  });

  test.each([
    [{ HTTP_MAX_CONNECTIONS: '0' }, 'HTTP_MAX_CONNECTIONS'],
    [{ HTTP_HEADERS_TIMEOUT_MS: '5' }, 'HTTP_HEADERS_TIMEOUT_MS'],
    [
      { HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' },
      'HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS',
    ],
  ])('when %j, then the error names the variable', (env, expected) => {
    expect(() => loadEnv(env)).toThrow(expected);
  });
});
