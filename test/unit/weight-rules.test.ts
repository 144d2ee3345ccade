import { MAX_WEIGHT } from '../../src/api-contract/limits';
import { allZero, isWeight, weightSchema } from '../../src/api-contract/weight-rules';

describe('weight rules', () => {
  test.each([
    [0, true],
    [1, true],
    [MAX_WEIGHT, true],
    [MAX_WEIGHT + 1, false],
    [-1, false],
    [2.5, false],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
    ['5', false],
    [null, false],
  ])('when a weight is %p, then isWeight answers %p and the schema agrees', (value, ok) => {
    expect(isWeight(value)).toBe(ok);
    expect(weightSchema.safeParse(value).success).toBe(ok);
  });

  test.each([
    [{ main: 0, canary: 0 }, true],
    [{ main: 0 }, true],
    [{ main: 0, canary: 1 }, false],
    [{ main: 100 }, false],
  ])('when the weights are %p, then allZero answers %p', (weights, zero) => {
    expect(allZero(weights)).toBe(zero);
  });

  test('when a weight breaks the schema, then the message says which rule', () => {
    const messages = [-1, 2.5, MAX_WEIGHT + 1].map(
      (v) => weightSchema.safeParse(v).error?.issues[0]?.message,
    );
    expect(messages).toEqual(['must be >= 0', 'must be an integer', 'must be <= 1000000']);
  });
});
