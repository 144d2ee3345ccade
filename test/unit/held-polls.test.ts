import { MAX_WATCH_MS, watchOf } from '../../src/traefik/held-polls';

describe('watchOf (the ?watch= duration)', () => {
  test.each([
    ['/traefik', undefined],
    ['/traefik?format=yaml', undefined],
    ['/traefik?watch=25s', 25_000],
    ['/traefik?format=yaml&watch=500ms', 500],
    ['/traefik?watch=1.5s', 1_500],
    ['/traefik?watch=1m', 60_000],
    ['/traefik?watch=60s', MAX_WATCH_MS],
    ['/traefik?watch=0s', 0],
  ])('when the URL is %s, then it is %p', (url, expected) => {
    expect(watchOf(url)).toEqual(expected);
  });

  test.each([
    ['/traefik?watch=forever', /must be a duration/],
    ['/traefik?watch=-5s', /must be a duration/],
    ['/traefik?watch=25', /must be a duration/],
    ['/traefik?watch=61s', /at most 60s, got 61s/],
    ['/traefik?watch=60001ms', /at most 60s/],
    ['/traefik?watch=1s&watch=2s', /more than once/],
  ])('when the URL is %s, then it is an error that says why', (url, message) => {
    const parsed = watchOf(url);
    expect(typeof parsed).toBe('object');
    expect((parsed as { error: string }).error).toMatch(message);
  });
});
