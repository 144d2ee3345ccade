import {
  compare,
  evaluateHistory,
  INITIAL_CHECK_STATE,
  observe,
  worstOf,
  type CheckRule,
  type Observation,
} from '../../src/rollout/analysis/check-evaluation';

const rule = (over: Partial<CheckRule> = {}): CheckRule => ({
  comparator: '>',
  for: 3_000,
  onNoData: 'pause',
  ...over,
});

const T0 = 1_700_000_000_000;
/** A value observation `s` seconds after T0 against the threshold 0.7. */
const v = (s: number, value: number): Observation => ({
  kind: 'value',
  at: T0 + s * 1000,
  value,
  threshold: 0.7,
});
const none = (s: number): Observation => ({ kind: 'no-data', at: T0 + s * 1000 });
const error = (s: number): Observation => ({
  kind: 'error',
  at: T0 + s * 1000,
  code: 'PROM_UNREACHABLE',
  message: 'down',
});

describe('compare and worstOf', () => {
  it.each([
    [1, '>', 0.7, true],
    [0.7, '>', 0.7, false],
    [0.7, '>=', 0.7, true],
    [0.5, '<', 0.7, true],
    [0.7, '<=', 0.7, true],
    [0.8, '<', 0.7, false],
    [NaN, '>', 0.7, false],
    [Infinity, '>', 0.7, true],
  ] as const)('when %d %s %d, then the breach is %s', (value, comparator, threshold, breach) => {
    expect(compare(value, comparator, threshold)).toBe(breach);
  });

  it('when several series answer, then the one closest to breaching decides', () => {
    expect(worstOf([0.2, 0.9, 0.5], '>')).toBe(0.9);
    expect(worstOf([0.2, 0.9, 0.5], '<=')).toBe(0.2);
    expect(worstOf([], '>')).toBeUndefined();
  });
});

describe('the for window, as in an alert rule', () => {
  it('when values stay within the threshold, then the check passes and no breach is open', () => {
    const s = evaluateHistory(rule(), [v(0, 0.3), v(1, 0.5), v(2, 0.69)]);
    expect(s).toMatchObject({ verdict: 'pass', breachSince: null, value: 0.69, threshold: 0.7 });
    expect(s.evaluatedAt).toBe(T0 + 2000);
  });

  it('when a breach has held for less than `for`, then it is pending since its first evaluation', () => {
    const s = evaluateHistory(rule(), [v(0, 0.3), v(1, 0.9), v(2, 0.95), v(3, 0.99)]);
    expect(s.verdict).toBe('pending');
    expect(s.breachSince).toBe(T0 + 1000);
    expect(s.reason).toBe('0.99 > 0.7 for 2s of 3s (pending)');
  });

  it('when a breach has held for exactly `for`, then the check fails at that evaluation', () => {
    const history = [v(0, 0.3), v(1, 0.9), v(2, 0.9), v(3, 0.9), v(4, 0.9)];
    expect(evaluateHistory(rule(), history.slice(0, 4)).verdict).toBe('pending');
    const s = evaluateHistory(rule(), history);
    expect(s.verdict).toBe('fail');
    expect(s.breachSince).toBe(T0 + 1000);
    expect(s.reason).toBe('0.9 > 0.7 for 3s of 3s');
  });

  it('when one evaluation inside the window does not breach, then the window starts again', () => {
    const s = evaluateHistory(rule(), [
      v(0, 0.9),
      v(1, 0.9),
      v(2, 0.5),
      v(3, 0.9),
      v(4, 0.9),
      v(5, 0.9),
    ]);
    expect(s.verdict).toBe('pending');
    expect(s.breachSince).toBe(T0 + 3000);
    expect(
      evaluateHistory(rule(), [v(0, 0.9), v(1, 0.9), v(2, 0.5), v(3, 0.9), v(6, 0.9)]).verdict,
    ).toBe('fail');
  });

  it('when `for` is 0, then the first breaching evaluation fails', () => {
    const s = evaluateHistory(rule({ for: 0 }), [v(0, 0.3), v(1, 0.71)]);
    expect(s).toMatchObject({ verdict: 'fail', breachSince: T0 + 1000, reason: '0.71 > 0.7' });
  });

  it('when evaluations are irregular, then the held time is measured, not the number of evaluations', () => {
    // Two evaluations 3 s apart: the breach has held 3 s.
    expect(evaluateHistory(rule(), [v(10, 0.9), v(13, 0.9)]).verdict).toBe('fail');
    // Four evaluations 0.5 s apart: only 1.5 s.
    expect(
      evaluateHistory(rule(), [v(10, 0.9), v(10.5, 0.9), v(11, 0.9), v(11.5, 0.9)]).verdict,
    ).toBe('pending');
  });

  it('when the comparator is "<", then a value below the threshold is the breach', () => {
    const s = evaluateHistory(rule({ comparator: '<', for: 0 }), [v(0, 0.5)]);
    expect(s.verdict).toBe('fail');
  });
});

describe('no data, too few samples and failed queries', () => {
  it('when there is no data and onNoData is pause, then the check is inconclusive and the breach ends', () => {
    const s = evaluateHistory(rule(), [v(0, 0.9), v(1, 0.9), none(2)]);
    expect(s).toMatchObject({
      verdict: 'inconclusive',
      breachSince: null,
      value: null,
      reason: 'no data',
    });
  });

  it('when there is no data and onNoData is ignore, then the check passes', () => {
    expect(evaluateHistory(rule({ onNoData: 'ignore' }), [v(0, 0.9), none(1)])).toMatchObject({
      verdict: 'pass',
      breachSince: null,
    });
  });

  it('when there is no data and onNoData is fail, then no data is a breach subject to `for`', () => {
    const r = rule({ onNoData: 'fail' });
    expect(evaluateHistory(r, [none(0), none(2)]).verdict).toBe('pending');
    expect(evaluateHistory(r, [none(0), none(2), none(3)])).toMatchObject({
      verdict: 'fail',
      breachSince: T0,
      value: null,
    });
  });

  it('when the sample count is too low, then the check is inconclusive with the counts', () => {
    const s = observe(rule(), INITIAL_CHECK_STATE, {
      kind: 'too-few-samples',
      at: T0,
      samples: 12,
      min: 100,
    });
    expect(s).toMatchObject({ verdict: 'inconclusive', reason: 'too few samples: 12 < 100' });
  });

  it('when a query fails during a breach, then the window is neither ended nor extended', () => {
    const s = evaluateHistory(rule(), [v(0, 0.9), error(1), error(2)]);
    expect(s.verdict).toBe('inconclusive');
    expect(s.breachSince).toBe(T0);
    expect(s.reason).toBe('query failed (PROM_UNREACHABLE): down');
    // Breaching again once Prometheus is back: the window opened at 0 s has held 3 s.
    expect(observe(rule(), s, v(3, 0.9)).verdict).toBe('fail');
  });
});
