import { parseSplitsDocument } from '../../src/config/splits';
import {
  canonicalStored,
  etagOf,
  sharesOf,
  validateStoredWeights,
} from '../../src/store/stored-weights';

const split = parseSplitsDocument(
  {
    splits: {
      council: {
        stable: 'main',
        canary: 'canary',
        backends: {
          main: { service: 'm@docker' },
          canary: { service: 'c@docker' },
          shadow: { service: 's@docker' },
        },
      },
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
    expect(canonical).toBe('Zed=2\ncanary=3\nmain=1\n');
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
