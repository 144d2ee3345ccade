import { ifMatchCondition } from '../../src/store/if-match';

const TAG = '3f2a000000000000000000000000000000000001';
const OTHER = '3f2a000000000000000000000000000000000002';

describe('If-Match condition', () => {
  test('when the header is absent, then the write is unconditional', () => {
    expect(ifMatchCondition(undefined)).toBe('');
  });

  test.each(['', '   ', '""', 'W/""', `W/"${TAG}"`, TAG, '"not-a-tag"', ',', `"${TAG}`])(
    'when the header is %j, then it matches nothing (never an unconditional write)',
    (header) => {
      expect(ifMatchCondition(header)).toBe('-');
    },
  );

  test('when the header is *, then the key must exist', () => {
    expect(ifMatchCondition('*')).toBe('*');
    expect(ifMatchCondition(' * ')).toBe('*');
  });

  test('when the header lists strong and weak tags, then only the strong ones can match', () => {
    expect(ifMatchCondition(`"${TAG}", W/"${OTHER}"`)).toBe(TAG);
    expect(ifMatchCondition(`"${TAG}" , "${OTHER}"`)).toBe(`${TAG} ${OTHER}`);
  });
});
