import { parseDuration, WAIT_TIMEOUT, type DurationGrammar } from '../../src/shared/duration';

const FULL: DurationGrammar = {};
const WATCH: DurationGrammar = { units: ['ms', 's', 'm'], compound: false };
const TRAEFIK: DurationGrammar = { units: ['ms', 's', 'm', 'h'] };

describe('parseDuration: one parser, each place its grammar', () => {
  test.each([
    ['500ms', FULL, 500],
    ['30s', FULL, 30_000],
    ['1h30m', FULL, 5_400_000],
    ['1d', FULL, 86_400_000],
    ['1.5s', FULL, 1_500],
    ['0.0004s', FULL, 0],
    ['', FULL, undefined],
    ['30', FULL, undefined],
    ['-5s', FULL, undefined],
    ['5 s', FULL, undefined],
    ['5S', FULL, undefined],
    ['25s', WATCH, 25_000],
    ['1.5m', WATCH, 90_000],
    ['1m30s', WATCH, undefined],
    ['1h', WATCH, undefined],
    ['10s', WAIT_TIMEOUT, 10_000],
    ['500ms', WAIT_TIMEOUT, 500],
    ['1.5s', WAIT_TIMEOUT, undefined],
    ['1m', WAIT_TIMEOUT, undefined],
    ['10s500ms', WAIT_TIMEOUT, undefined],
    ['2h15m', TRAEFIK, 8_100_000],
    ['1d', TRAEFIK, undefined],
  ])('when %p is read in %j, then it is %p ms', (text, grammar, ms) => {
    expect(parseDuration(text, grammar)).toBe(ms);
  });
});
