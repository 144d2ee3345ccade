import path from 'node:path';
import { formatIssues, loadSplitsFile } from '../../src/config/splits';
import { ConfigError } from '../../src/errors';
import { formatDuration, parseDuration } from '../../src/shared/duration';
import { createRolloutPlanSchema, type Environment } from '../../src/config/rollout-plan-schema';

const schemaWith = (env: Environment = {}) => createRolloutPlanSchema(() => env);

/** Parses and returns either the plan or the formatted issues. */
function parse(input: unknown, env: Environment = {}) {
  const result = schemaWith(env).safeParse(input);
  return result.success
    ? { plan: result.data, errors: '' }
    : { plan: undefined, errors: formatIssues(result.error.issues) };
}

const minimal = { steps: [5, 25, 50, 100], bakeTime: '10m' };

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    ['0s', 0],
  ])('when given %s, then it is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', 'm', '5 m', '-5s', '5min', '1h 30m', 'ms5'])(
    'when given "%s", then it is not a duration',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  it('when formatting, then the largest units come first and zero parts are left out', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(86_400_000 + 1_000)).toBe('1d1s');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('rollout plan schema', () => {
  it('when only steps and a bake time are given, then the defaults fill in the rest', () => {
    const { plan, errors } = parse(minimal);
    expect(errors).toBe('');
    expect(plan).toEqual({
      steps: [
        { percent: 5, bakeTime: 600_000 },
        { percent: 25, bakeTime: 600_000 },
        { percent: 50, bakeTime: 600_000 },
        { percent: 100, bakeTime: 600_000 },
      ],
      bakeTime: 600_000,
      analysisInterval: 60_000,
      consecutiveErrorLimit: 4,
      onAnalysisError: 'pause',
      autoPromote: true,
      checks: [],
      notifications: { slack: [], webhooks: [] },
    });
  });

  it('when a step sets its own bake time, then it overrides the default for that step only', () => {
    const { plan } = parse({ steps: [5, { percent: 50, bakeTime: '1h' }], bakeTime: '30s' });
    expect(plan?.steps).toEqual([
      { percent: 5, bakeTime: 30_000 },
      { percent: 50, bakeTime: 3_600_000 },
    ]);
  });

  it('when steps do not increase, then the error names the step and the one before', () => {
    const { errors } = parse({ ...minimal, steps: [5, 25, 25, 10] });
    expect(errors).toContain('steps[2]: must be above the step before it (25)');
    expect(errors).toContain('steps[3]: must be above the step before it (25)');
  });

  it.each([
    [[0], 'steps[0].percent: must be from 1 to 100 (0 % is a rollback, not a step)'],
    [[101], 'steps[0].percent: must be from 1 to 100'],
    [[5.5], 'steps[0].percent: must be a whole percentage'],
    [['5%'], 'steps[0]: must be a percentage (e.g. 25) or a mapping'],
    [[], 'steps: needs at least one step'],
  ])('when steps are %j, then the error says "%s"', (steps, message) => {
    expect(parse({ ...minimal, steps }).errors).toContain(message);
  });

  it('when no bake time is set for a step, then the error says where to set one', () => {
    const { errors } = parse({ steps: [5, { percent: 50, bakeTime: '1m' }] });
    expect(errors).toContain('steps[0]: has no bakeTime: set rollout.bakeTime');
    expect(errors).not.toContain('steps[1]');
  });

  it('when a duration is malformed, then the error shows the accepted forms', () => {
    const { errors } = parse({ ...minimal, bakeTime: '10 minutes', analysisInterval: '100ms' });
    expect(errors).toContain('bakeTime: must be a duration like "500ms", "30s"');
    expect(errors).toContain('analysisInterval: analysisInterval must be from 1s to 1h, not 100ms');
  });

  it('when a threshold check is complete, then its defaults are for 0 and onNoData pause', () => {
    const { plan, errors } = parse({
      ...minimal,
      checks: [{ name: 'p95', type: 'threshold', query: 'up', comparator: '>', threshold: 0.7 }],
    });
    expect(errors).toBe('');
    expect(plan?.checks).toEqual([
      {
        name: 'p95',
        type: 'threshold',
        query: 'up',
        comparator: '>',
        threshold: 0.7,
        for: 0,
        onNoData: 'pause',
      },
    ]);
  });

  it('when a check has a wrong comparator, no type, or an unknown field, then each is named', () => {
    const { errors } = parse({
      ...minimal,
      checks: [
        { name: 'a', type: 'threshold', query: 'up', comparator: '=>', threshold: 1 },
        { name: 'b', query: 'up' },
        { name: 'c', type: 'threshold', query: 'up', comparator: '<', threshold: 1, window: '5m' },
      ],
    });
    expect(errors).toContain('checks[0].comparator: must be one of < <= > >=');
    expect(errors).toContain(
      'checks[1].type: needs `type: threshold`, `type: comparison` or `type: traefik`',
    );
    expect(errors).toMatch(/checks\[2\]: Unrecognized key: "window"/);
  });

  it('when two checks share a name, then the second is named', () => {
    const check = { name: 'x', type: 'threshold', query: 'up', comparator: '<', threshold: 1 };
    expect(parse({ ...minimal, checks: [check, check] }).errors).toContain(
      'checks[1].name: "x" is used by another check',
    );
  });

  it('when a comparison query has no placeholder, then the error shows how to write one', () => {
    const { errors } = parse({
      ...minimal,
      checks: [
        {
          name: 'cmp',
          type: 'comparison',
          query: 'rate(x{variant="canary"}[1m])',
          factor: 1.2,
          minSamples: { query: 'sum(x{variant="{{varient}}"})', min: 10 },
        },
      ],
    });
    expect(errors).toContain('checks[0].query: must contain {{backend}} (or {{variant}})');
    expect(errors).toContain(
      'checks[0].minSamples.query: has an unknown placeholder {{varient}}; use {{backend}} or {{variant}}',
    );
  });

  it('when a comparison check is complete, then its comparator defaults to >', () => {
    const { plan, errors } = parse({
      ...minimal,
      checks: [
        {
          name: 'cmp',
          type: 'comparison',
          query: 'rate(x{variant="{{variant}}"}[1m])',
          factor: 1.2,
          for: '2m',
          minSamples: { query: 'sum(x_count{variant="{{backend}}"})', min: 100 },
        },
      ],
    });
    expect(errors).toBe('');
    expect(plan?.checks[0]).toMatchObject({
      comparator: '>',
      factor: 1.2,
      for: 120_000,
      onNoData: 'pause',
    });
  });

  describe('notifications', () => {
    it('when a URL references a set variable, then the value is substituted', () => {
      const { plan, errors } = parse(
        {
          ...minimal,
          notifications: {
            slack: ['${SLACK_URL}'],
            webhooks: [
              'http://127.0.0.1:9/hook',
              {
                url: 'https://hooks.example/${PATH_PART}',
                headers: { Authorization: 'Bearer ${HOOK_TOKEN}' },
              },
            ],
          },
        },
        {
          SLACK_URL: 'https://hooks.slack.example/services/T/B/x',
          PATH_PART: 'p1',
          HOOK_TOKEN: 's3cret',
        },
      );
      expect(errors).toBe('');
      expect(plan?.notifications).toEqual({
        slack: ['https://hooks.slack.example/services/T/B/x'],
        webhooks: [
          { url: 'http://127.0.0.1:9/hook', headers: {} },
          { url: 'https://hooks.example/p1', headers: { Authorization: 'Bearer s3cret' } },
        ],
      });
    });

    it('when a referenced variable is unset or empty, then the error names it and the entry', () => {
      const { errors } = parse(
        { ...minimal, notifications: { slack: ['${SLACK_URL}'], webhooks: ['${EMPTY}/x'] } },
        { EMPTY: '' },
      );
      expect(errors).toContain('notifications.slack[0]: references ${SLACK_URL}, which is not set');
      expect(errors).toContain(
        'notifications.webhooks[0].url: references ${EMPTY}, which is not set',
      );
    });

    it('when a resolved value is not a URL, then the error does not reveal the value', () => {
      const { errors } = parse(
        { ...minimal, notifications: { slack: ['${SLACK_URL}'] } },
        { SLACK_URL: 'not-a-url-but-a-secret' },
      );
      expect(errors).toContain('notifications.slack[0]: must be an http(s) URL');
      expect(errors).not.toContain('not-a-url-but-a-secret');
    });
  });
});

describe('the example plan (src/rollout/example-plan.yaml)', () => {
  const file = path.join(__dirname, '../../src/rollout/example-plan.yaml');
  const saved = process.env.SLACK_WEBHOOK_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.SLACK_WEBHOOK_URL;
    else process.env.SLACK_WEBHOOK_URL = saved;
  });

  it('when SLACK_WEBHOOK_URL is set, then it validates with the guide’s signals, cost per request against the stable, an up check and the built-in Traefik checks', () => {
    process.env.SLACK_WEBHOOK_URL = 'https://hooks.slack.example/services/T0/B0/abc';
    const council = loadSplitsFile(file).byName.get('council');
    const plan = council?.rollout;
    expect(plan?.steps.map((s) => s.percent)).toEqual([5, 25, 50, 100]);
    expect(plan?.steps.every((s) => s.bakeTime === 86_400_000)).toBe(true);
    expect(plan?.analysisInterval).toBe(60_000);
    expect(
      plan?.checks.map((c) => [
        c.name,
        c.type,
        c.type === 'traefik' ? undefined : c.comparator,
        c.type === 'threshold'
          ? c.threshold
          : c.type === 'comparison'
            ? c.factor
            : c.metric === 'success-rate'
              ? c.min
              : c.max,
        c.for,
      ]),
    ).toEqual([
      ['p95-latency', 'threshold', '>', 0.7, 300_000],
      ['cost-per-request', 'comparison', '>', 1.2, 600_000],
      ['vram', 'threshold', '>', 9.8e9, 0],
      ['mistral-error-ratio', 'threshold', '>', 0.02, 120_000],
      ['canary-up', 'threshold', '<', 1, 120_000],
      ['p95-vs-stable', 'comparison', '>', 1.2, 300_000],
      ['success-rate', 'traefik', undefined, 99, 300_000],
      ['latency', 'traefik', undefined, 700, 300_000],
    ]);
    const builtIn = plan?.checks.filter((c) => c.type === 'traefik');
    expect(builtIn?.map((c) => c.type === 'traefik' && [c.window, c.minRequests])).toEqual([
      [300_000, 100],
      [300_000, 100],
    ]);
    // A missing metric must not pass silently.
    expect(plan?.checks.filter((c) => c.onNoData === 'ignore')).toEqual([]);
    expect(plan?.checks.find((c) => c.name === 'canary-up')?.onNoData).toBe('fail');
    expect(plan?.notifications.slack).toEqual(['https://hooks.slack.example/services/T0/B0/abc']);
  });

  it('when SLACK_WEBHOOK_URL is unset, then loading fails naming the variable and the path', () => {
    delete process.env.SLACK_WEBHOOK_URL;
    expect(() => loadSplitsFile(file)).toThrow(ConfigError);
    expect(() => loadSplitsFile(file)).toThrow(
      /splits\.council\.rollout\.notifications\.slack\[0\]: references \$\{SLACK_WEBHOOK_URL\}, which is not set/,
    );
  });
});
