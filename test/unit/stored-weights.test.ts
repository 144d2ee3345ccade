import { parseSplitsDocument } from '../../src/config/splits';
import {
  canonicalStored,
  isWeightText,
  MAX_PROBLEMS,
  etagOf,
  sharesOf,
  validateStoredWeights,
} from '../../src/store/stored-weights';
import { councilSplit } from '../helpers/splits-fixtures';

const split = parseSplitsDocument(
  {
    splits: {
      council: councilSplit({
        backends: {
          main: { service: 'm@docker' },
          canary: { service: 'c@docker' },
          shadow: { service: 's@docker' },
        },
      }),
    },
  },
  'test',
).splits[0];

describe('stored weights', () => {
  test('when a backend is missing from the hash, then it takes its default weight', () => {
    expect(validateStoredWeights(split, { kind: 'hash', fields: { canary: '0' } })).toEqual({
      valid: true,
      weights: { canary: 0, main: 100, shadow: 0 },
      fromDefaults: false,
    });
  });

  test('when several fields are bad, then every problem is listed', () => {
    const verdict = validateStoredWeights(split, {
      kind: 'hash',
      fields: { main: ' 5', canary: '1e3', x: '1' },
    });
    expect(verdict).toEqual({
      valid: false,
      problems: [
        'weight of "canary" is "1e3", not a non-negative integer',
        'weight of "main" is " 5", not a non-negative integer',
        'field "x" is not a backend of the split (backends: canary, main, shadow)',
      ],
    });
  });

  test('when the canonical text is computed, then fields are sorted byte-wise like Lua does', () => {
    const canonical = canonicalStored({
      kind: 'hash',
      fields: { main: '1', Zed: '2', canary: '3' },
    });
    expect(canonical).toBe('3:Zed=1:2\n6:canary=1:3\n4:main=1:1\n');
    expect(etagOf('')).toBe('"da39a3ee5e6b4b0d3255bfef95601890afd80709"');
    expect(canonicalStored({ kind: 'wrong-type', type: 'list' })).toBe('!list');
  });

  test('shares are percentages of the sum', () => {
    expect(sharesOf({ main: 95, canary: 5, shadow: 0 })).toEqual({
      main: 95,
      canary: 5,
      shadow: 0,
    });
    expect(sharesOf({ main: 2, canary: 1 })).toEqual({ main: 66.67, canary: 33.33 });
  });
});

describe('stored weights: hostile values', () => {
  test('when a field value contains a newline, then its canonical text differs from two fields', () => {
    const joined = canonicalStored({ kind: 'hash', fields: { canary: '10\nmain=90' } });
    const two = canonicalStored({ kind: 'hash', fields: { canary: '10', main: '90' } });
    expect(joined).not.toBe(two);
    expect(etagOf(joined)).not.toBe(etagOf(two));
  });

  test.each(['05', '+5', '-0', ' 5', '5 ', '0x10', '1e2', '', '5.0', '１'])(
    'when a weight is stored as %j, then it is not a weight',
    (text) => {
      expect(isWeightText(text)).toBe(false);
      const verdict = validateStoredWeights(split, { kind: 'hash', fields: { canary: text } });
      expect(verdict.valid).toBe(false);
    },
  );

  test('when weights are written as the service writes them, then they are weights', () => {
    expect(['0', '5', '1000000'].map(isWeightText)).toEqual([true, true, true]);
    expect(isWeightText('1000001')).toBe(false);
  });

  test('when a backend is named constructor, then its default weight is its own, not a prototype value', () => {
    const s = parseSplitsDocument(
      {
        splits: {
          web: {
            stable: 'main',
            canary: 'constructor',
            backends: { main: { service: 'm@docker' }, constructor: { service: 'c@docker' } },
            defaultWeights: { main: 100 },
          },
        },
      },
      'test',
    ).splits[0];
    expect(s.defaultWeights).toEqual({ constructor: 0, main: 100 });
    expect(validateStoredWeights(s, { kind: 'missing' })).toEqual({
      valid: true,
      weights: { constructor: 0, main: 100 },
      fromDefaults: true,
    });
  });

  test('when a hash has 10,000 fields, then the verdict names at most a bounded number of them', () => {
    const fields: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) fields[`f${i}`] = 'x'.repeat(100);
    const verdict = validateStoredWeights(split, { kind: 'hash', fields });
    expect(verdict.valid).toBe(false);
    if (verdict.valid) return;
    expect(verdict.problems).toHaveLength(MAX_PROBLEMS + 1);
    expect(verdict.problems[MAX_PROBLEMS]).toBe(
      `… and ${10_000 - MAX_PROBLEMS} more fields not checked`,
    );
    expect(JSON.stringify(verdict).length).toBeLessThan(10_000);
  });
});
