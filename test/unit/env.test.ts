import { loadEnv } from '../../src/config/env';
import { describeRedisTarget, redisTargetOf } from '../../src/store/redis-client';

/** The body of each table of bad environments: loading it fails with `expected` in the message. */
function refusesAtStart(env: Record<string, string>, expected: string | RegExp): void {
  expect(() => loadEnv(env)).toThrow(expected);
}

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
  ])('when %j, then the error names the variable', refusesAtStart);

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
      OPEN_READ_CONCURRENCY: 2,
      OPEN_READ_QUEUE: 8,
    });
  });

  test.each([
    [{ HTTP_MAX_CONNECTIONS: '0' }, 'HTTP_MAX_CONNECTIONS'],
    [{ OPEN_READ_CONCURRENCY: '0' }, 'OPEN_READ_CONCURRENCY'],
    [{ OPEN_READ_QUEUE: '-1' }, 'OPEN_READ_QUEUE'],
    [{ OPEN_READ_QUEUE: 'many' }, 'OPEN_READ_QUEUE'],
    [{ HTTP_HEADERS_TIMEOUT_MS: '5' }, 'HTTP_HEADERS_TIMEOUT_MS'],
    [
      { HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' },
      'HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS',
    ],
  ])('when %j, then the error names the variable', refusesAtStart);
});

describe('environment: the Redis target', () => {
  const sentinel = {
    REDIS_SENTINELS: 's1:26379, s2:26380,[::1]:26381',
    REDIS_SENTINEL_NAME: 'main',
  };

  test('when REDIS_SENTINELS and REDIS_SENTINEL_NAME are set, then Sentinel mode is selected', () => {
    const env = loadEnv({ ...sentinel, REDIS_PASSWORD: 'data-pw', REDIS_SENTINEL_PASSWORD: 'sp' });
    expect(env.REDIS_URL).toBeUndefined();
    expect(redisTargetOf(env)).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'main',
      sentinelPassword: 'sp',
      password: 'data-pw',
    });
  });

  test('when only REDIS_URL is set, then one server is used', () => {
    expect(redisTargetOf(loadEnv({ REDIS_URL: 'redis://r:6380' }))).toEqual({
      mode: 'single',
      url: 'redis://r:6380',
    });
    expect(redisTargetOf(loadEnv({}))).toEqual({ mode: 'single', url: 'redis://127.0.0.1:6379' });
  });

  test.each([
    [
      { ...sentinel, REDIS_URL: 'redis://r:6379' },
      /REDIS_URL: cannot be set together with REDIS_SENTINELS/,
    ],
    [{ REDIS_SENTINELS: 's1:26379' }, /REDIS_SENTINEL_NAME: is required with REDIS_SENTINELS/],
    [{ REDIS_SENTINEL_NAME: 'main' }, /REDIS_SENTINELS: is required with REDIS_SENTINEL_NAME/],
    [
      { REDIS_SENTINEL_PASSWORD: 'sp' },
      /REDIS_SENTINEL_PASSWORD: only applies with REDIS_SENTINELS/,
    ],
    [{ ...sentinel, REDIS_SENTINELS: 's1:26379,s2' }, /REDIS_SENTINELS: "s2" is not host:port/],
    [{ ...sentinel, REDIS_SENTINELS: 's1:99999' }, /REDIS_SENTINELS: "s1:99999" is not host:port/],
    [{ ...sentinel, REDIS_SENTINELS: 'redis://s1:26379' }, /REDIS_SENTINELS: "redis:\/\/s1:26379"/],
  ])('when %j, then start-up fails naming what to change', refusesAtStart);

  test('when a target is described for the log, then no password appears', () => {
    expect(describeRedisTarget({ mode: 'single', url: 'redis://u:secret@r:6379/0' })).toBe(
      'redis://r:6379/0',
    );
    expect(
      describeRedisTarget(redisTargetOf(loadEnv({ ...sentinel, REDIS_SENTINEL_PASSWORD: 'sp' }))),
    ).toBe('sentinel:main@s1:26379,s2:26380,::1:26381');
  });
});

describe('environment: acknowledged writes and the last-good snapshot', () => {
  test('when nothing is set, then writes wait for no replica and the snapshot lives in ./data', () => {
    const env = loadEnv({});
    expect(env.REDIS_WRITE_REPLICAS).toBe(0);
    expect(env.REDIS_WRITE_TIMEOUT_MS).toBe(1000);
    expect(env.DATA_DIR).toBe('./data');
    expect(env.SNAPSHOT_FILE).toBe('data/snapshot.json');
  });

  test('when REDIS_WRITE_REPLICAS and REDIS_WRITE_TIMEOUT_MS are set, then they are numbers', () => {
    const env = loadEnv({ REDIS_WRITE_REPLICAS: '2', REDIS_WRITE_TIMEOUT_MS: '2500' });
    expect([env.REDIS_WRITE_REPLICAS, env.REDIS_WRITE_TIMEOUT_MS]).toEqual([2, 2500]);
  });

  test('when DATA_DIR is set, then the snapshot defaults inside it; SNAPSHOT_FILE wins; off keeps none', () => {
    expect(loadEnv({ DATA_DIR: '/var/lib/canary' }).SNAPSHOT_FILE).toBe(
      '/var/lib/canary/snapshot.json',
    );
    expect(loadEnv({ DATA_DIR: '/d', SNAPSHOT_FILE: '/s/last.json' }).SNAPSHOT_FILE).toBe(
      '/s/last.json',
    );
    expect(loadEnv({ SNAPSHOT_FILE: 'off' }).SNAPSHOT_FILE).toBeUndefined();
  });

  test.each([
    [{ REDIS_WRITE_REPLICAS: '-1' }, 'REDIS_WRITE_REPLICAS'],
    [{ REDIS_WRITE_REPLICAS: 'one' }, 'REDIS_WRITE_REPLICAS'],
    [{ REDIS_WRITE_REPLICAS: '1.5' }, 'REDIS_WRITE_REPLICAS: must be an integer'],
    [{ REDIS_WRITE_TIMEOUT_MS: '0' }, 'REDIS_WRITE_TIMEOUT_MS'],
    [{ REDIS_WRITE_TIMEOUT_MS: '600000' }, 'REDIS_WRITE_TIMEOUT_MS'],
  ])('when %j, then the error names the variable', refusesAtStart);
});
