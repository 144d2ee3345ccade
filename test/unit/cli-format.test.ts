import { describeProblem, resolveBaseUrl, urlOf } from '../../src/cli/api-client';
import type { AuditEvent, SplitStatus } from '../../src/api-contract';
import { UsageError } from '../../src/cli/cli-error';
import { exitCodeForStatus } from '../../src/cli/exit-codes';
import {
  formatChange,
  formatExtra,
  formatRollout,
  formatHistory,
  formatShare,
  formatStatus,
  formatTime,
  renderTable,
} from '../../src/cli/format';

function split(overrides: Partial<SplitStatus> = {}): SplitStatus {
  return {
    name: 'council',
    stable: 'main',
    canary: 'canary',
    backends: [
      { name: 'canary', version: '1.5.0' },
      { name: 'main', version: '1.4.2' },
    ],
    weights: { stored: { canary: 25, main: 75 }, served: { canary: 25, main: 75 } },
    storedKeyType: 'hash',
    shares: { canary: 25, main: 75 },
    source: 'redis',
    valid: true,
    problems: [],
    etag: '"e1"',
    stale: false,
    ...overrides,
  };
}

/** A rollback by alice through the CLI; `overrides` make the event a test needs. */
function auditEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: '2-0',
    time: '2024-05-01T12:00:02.123Z',
    split: 'council',
    action: 'rollback',
    source: 'cli',
    actor: 'alice',
    reason: 'p95 above 1s',
    before: { main: 75, canary: 25 },
    after: { main: 100, canary: 0 },
    ...overrides,
  };
}

describe('renderTable', () => {
  test('when cells differ in width, then columns align, numbers to the right, without trailing blanks', () => {
    expect(
      renderTable(
        ['NAME', 'N', 'NOTE'],
        [
          ['a', '5', ''],
          ['long', '100', 'x'],
        ],
        new Set([1]),
      ),
    ).toBe(['NAME    N  NOTE', 'a       5', 'long  100  x'].join('\n'));
  });
});

describe('formatShare', () => {
  test.each([
    [25, '25%'],
    [33.33, '33.33%'],
    [0, '0%'],
    [undefined, '-'],
  ])('when the share is %p, then it prints %p', (share, text) => {
    expect(formatShare(share)).toBe(text);
  });
});

describe('formatStatus', () => {
  test('when a split is valid, then each backend has a row and the split facts are on the first', () => {
    expect(formatStatus([split()])).toBe(
      [
        'SPLIT    BACKEND  ROLE    VERSION  STORED  SERVED  SHARE  SOURCE  VALID  STALE',
        'council  canary   canary  1.5.0        25      25    25%  redis   yes    no',
        '         main     stable  1.4.2        75      75    75%',
      ].join('\n'),
    );
  });

  test('when the stored weights are invalid and the config is stale, then the problems and a warning follow', () => {
    const text = formatStatus([
      split({
        weights: { stored: { canary: 'ten', main: 90 }, served: { canary: 0, main: 100 } },
        shares: { canary: 0, main: 100 },
        source: 'last-valid',
        valid: false,
        problems: ['weight of "canary" is "ten", not a non-negative integer'],
        stale: true,
      }),
    ]);

    expect(text.split('\n').slice(1)).toEqual([
      'council  canary   canary  1.5.0       ten       0     0%  last-valid  no     yes',
      '         main     stable  1.4.2        90     100   100%',
      'council: the weights stored in Redis are invalid; serving the last-valid weights:',
      '  - weight of "canary" is "ten", not a non-negative integer',
      'warning: the service cannot read Redis; it serves its last good configuration (stale)',
    ]);
  });

  test('when nothing is stored, then STORED shows a dash', () => {
    const text = formatStatus([
      split({ weights: { stored: null, served: { canary: 0, main: 100 } } }),
    ]);

    expect(text.split('\n')[1]).toMatch(/^council\s+canary\s+canary\s+1\.5\.0\s+-\s+0\s/);
  });

  test('when the service reports facts this CLI does not know, then they are printed per split', () => {
    const status = { ...split(), rollout: { status: 'progressing', step: 2 } } as SplitStatus;

    expect(formatStatus([status])).toContain('council rollout: {"status":"progressing","step":2}');
  });

  test('when there are no splits, then it says so', () => {
    expect(formatStatus([])).toBe('no splits are declared');
  });
});

describe('formatExtra', () => {
  test('when the status says what each Traefik applied, then one line per Traefik', () => {
    expect(
      formatExtra('council', 'traefik', [
        {
          traefik: 'http://t1:8080',
          applied: true,
          since: '2024-05-01T12:00:00.000Z',
          weights: {},
        },
        {
          traefik: 'http://t2:8080',
          applied: false,
          since: null,
          weights: null,
          error: 'not read yet',
        },
      ]),
    ).toEqual([
      'council traefik http://t1:8080: applied since 2024-05-01 12:00:00Z',
      'council traefik http://t2:8080: NOT applied (not read yet)',
    ]);
  });

  test('when a fact has a summary, then the summary is the line', () => {
    expect(
      formatExtra('council', 'rollout', { summary: 'council: step 2/4 at 25 %', step: 2 }),
    ).toEqual(['rollout council: step 2/4 at 25 %']);
  });
});

describe('formatRollout', () => {
  test('when the answer is a rollout view, then its summary and a table of checks', () => {
    const text = formatRollout({
      split: 'council',
      status: 'progressing',
      summary: 'council: progressing, step 2/4 (25 %)',
      checks: [
        {
          name: 'p95-latency',
          verdict: 'pass',
          value: 0.42,
          threshold: 0.7,
          comparator: '<=',
          for: '5m',
          reason: '',
        },
        {
          name: 'vram',
          verdict: 'unknown',
          value: null,
          threshold: 9.8,
          comparator: '<=',
          for: '0s',
          reason: 'no data',
        },
      ],
    });

    expect(text.split('\n')).toEqual([
      'council: progressing, step 2/4 (25 %)',
      'CHECK        VERDICT  VALUE  THRESHOLD  FOR  REASON',
      'p95-latency  pass     0.42   <= 0.7     5m',
      'vram         unknown  -      <= 9.8     0s   no data',
    ]);
  });

  test('when the answer has another shape, then it is printed as JSON', () => {
    expect(formatRollout({ status: 'x' })).toBe('{\n  "status": "x"\n}');
  });
});

describe('formatChange', () => {
  test('when some weights changed, then those show before->after, sorted by backend', () => {
    expect(formatChange({ main: 100, canary: 0, x: 0 }, { x: 0, canary: 25, main: 75 })).toBe(
      'canary=0->25 main=100->75 x=0',
    );
  });

  test('when there was nothing before, then it shows the weights written', () => {
    expect(formatChange(null, { main: 95, canary: 5 })).toBe('canary=5 main=95');
  });

  test('when the key was deleted, then it shows what was there', () => {
    expect(formatChange({ main: 1 }, null)).toBe('main=1 -> (none)');
    expect(formatChange(null, null)).toBe('-');
  });
});

describe('formatHistory', () => {
  test('when events are given, then they are listed in the given order with their changes', () => {
    const text = formatHistory('council', [
      auditEvent(),
      auditEvent({
        id: '1-0',
        time: '2024-05-01T12:00:01.000Z',
        action: 'external',
        source: 'external',
        actor: 'external',
        reason: '',
        before: null,
        after: { main: 75, canary: 25 },
      }),
    ]);

    expect(text).toBe(
      [
        'TIME                  ACTION    SOURCE    ACTOR     WEIGHTS                    REASON',
        '2024-05-01 12:00:02Z  rollback  cli       alice     canary=25->0 main=75->100  p95 above 1s',
        '2024-05-01 12:00:01Z  external  external  external  canary=25 main=75',
      ].join('\n'),
    );
  });

  test('when there are no events, then it says so', () => {
    expect(formatHistory('council', [])).toBe('no changes recorded for council');
  });

  test('when the time has no fraction, then it is kept to the second', () => {
    expect(formatTime('2024-05-01T12:00:01Z')).toBe('2024-05-01 12:00:01Z');
  });
});

describe('describeProblem', () => {
  const ctx = { method: 'POST', url: 'http://svc/api/v1/splits/council/scale' };

  test('when a validation problem lists its errors, then the detail heads them, once', () => {
    expect(
      describeProblem(
        400,
        {
          detail: 'the request body is invalid:\n  percent: must be from 0 to 100',
          errors: [{ path: 'percent', message: 'must be from 0 to 100' }],
        },
        '',
        ctx,
      ),
    ).toEqual({
      message: 'the request body is invalid',
      details: ['  percent: must be from 0 to 100'],
    });
  });

  test('when 401, then it hints at CANARY_TOKEN', () => {
    expect(describeProblem(401, { detail: 'the bearer token is wrong' }, '', ctx)).toEqual({
      message: 'the bearer token is wrong',
      details: ["hint: set CANARY_TOKEN to the service's ADMIN_TOKEN"],
    });
  });

  test('when 412, then it names the current ETag from the answer', () => {
    const { details } = describeProblem(412, { detail: 'changed' }, '', { ...ctx, etag: '"e2"' });

    expect(details[0]).toContain(`current ETag is "e2"`);
    expect(details[0]).toContain(`--if-match '"e2"'`);
  });

  test('when the answer is not a problem document, then it shows the status and the start of the body', () => {
    expect(describeProblem(502, undefined, '<html>Bad Gateway</html>', ctx).message).toBe(
      'POST http://svc/api/v1/splits/council/scale answered HTTP 502: <html>Bad Gateway</html>',
    );
  });
});

describe('exit codes', () => {
  test.each([
    [401, 3],
    [403, 3],
    [400, 4],
    [404, 4],
    [409, 4],
    [412, 4],
    [413, 4],
    [415, 4],
    [500, 5],
    [503, 5],
    [504, 5],
    [302, 1],
  ])('when the status is %p, then the exit code is %p', (status, code) => {
    expect(exitCodeForStatus(status)).toBe(code);
  });
});

describe('resolveBaseUrl', () => {
  test('when CANARY_URL is unset or blank, then the default is used', () => {
    expect(resolveBaseUrl(undefined)).toBe('http://127.0.0.1:9500');
    expect(resolveBaseUrl('  ')).toBe('http://127.0.0.1:9500');
  });

  test('when it has a path and trailing slashes, then paths are joined under it', () => {
    const base = resolveBaseUrl('https://ops.example/canary//');

    expect(urlOf(base, { path: '/api/v1/splits', query: { limit: '5' } })).toBe(
      'https://ops.example/canary/api/v1/splits?limit=5',
    );
  });

  test.each(['not a url', 'ftp://host'])('when it is %p, then it is a usage error', (value) => {
    expect(() => resolveBaseUrl(value)).toThrow(UsageError);
  });
});

describe('terminal escapes in what the service returns', () => {
  const ESC = '\u001b';
  test('when a reason or actor carries escape sequences, then history prints them escaped', () => {
    const text = formatHistory('council', [
      auditEvent({
        source: 'api',
        actor: `${ESC}]0;pwned\u0007eve`,
        reason: `${ESC}[2J${ESC}[31mall good\rfake\nline\u202e`,
      }),
    ]);
    const lines = text.split('\n');
    expect(lines).toHaveLength(2);
    // eslint-disable-next-line no-control-regex
    for (const line of lines) expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(text).toContain('\\x1b]0;pwned\\x07eve');
    expect(text).toContain('\\x1b[2J\\x1b[31mall good\\x0dfake\\x0aline\\u{202e}');
  });

  test('when a problem or a version carries escape sequences, then status prints them escaped', () => {
    const text = formatStatus([
      split({
        valid: false,
        problems: [`weight of "canary" is "${ESC}[8m", not a non-negative integer`],
        backends: [
          { name: 'canary', version: `1.5.0${ESC}[1A` },
          { name: 'main', version: '1.4.2' },
        ],
      }),
    ]);
    expect(text).not.toContain(ESC);
    expect(text).toContain('\\x1b[8m');
    expect(text).toContain('1.5.0\\x1b[1A');
  });
});
