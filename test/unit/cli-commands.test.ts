import { parseArgs } from '../../src/cli/args';
import type { CliEnv, Command } from '../../src/cli/command';
import { findCommand } from '../../src/cli/commands';
import { parseWeightPairs } from '../../src/cli/commands/set';
import { GLOBAL_OPTIONS } from '../../src/cli/help';
import { run } from '../../src/cli/run';
import { usageErrorOf } from '../helpers/cli-usage';

const env: CliEnv = { USER: 'alice' };

function command(name: string): Command {
  const found = findCommand(name);
  if (!found) throw new Error(`no command ${name}`);
  return found;
}

/** The request a command line would send, as canaryctl's runner builds it. */
function requestOf(argv: string[], environment: CliEnv = env) {
  const [name, ...rest] = argv;
  const cmd = command(name);
  return cmd.request(parseArgs(rest, [...cmd.options, ...GLOBAL_OPTIONS], name), environment);
}

describe('read commands', () => {
  test('when status has no split, then it GETs the list; with one, that split (name encoded)', () => {
    expect(requestOf(['status'])).toEqual({ method: 'GET', path: '/api/v1/splits' });
    expect(requestOf(['status', 'a b'])).toEqual({ method: 'GET', path: '/api/v1/splits/a%20b' });
  });

  test('when history has --limit, then it is sent as the query', () => {
    expect(requestOf(['history', 'council', '--limit', '5'])).toEqual({
      method: 'GET',
      path: '/api/v1/splits/council/history',
      query: { limit: '5' },
    });
    expect(requestOf(['history', 'council'])).toEqual({
      method: 'GET',
      path: '/api/v1/splits/council/history',
    });
  });
});

describe('write commands', () => {
  test('when scale is given a percent, then it POSTs it with the CLI source and $USER as actor', () => {
    expect(requestOf(['scale', 'council', '25'])).toEqual({
      method: 'POST',
      path: '/api/v1/splits/council/scale',
      headers: { 'X-Change-Source': 'cli', 'X-Actor': 'alice' },
      body: { percent: 25 },
    });
  });

  test('when the percent is out of range, then it is still sent: the service owns the range', () => {
    expect(requestOf(['scale', 'council', '150%']).body).toEqual({ percent: 150 });
    expect(requestOf(['scale', 'council', '-5']).body).toEqual({ percent: -5 });
  });

  test('when --reason, --if-match and --actor are given, then they go in the body and headers', () => {
    const req = requestOf([
      'rollback',
      'council',
      '--reason',
      'p95 above 1s',
      '--if-match',
      '"abc"',
      '--actor',
      'bob',
    ]);

    expect(req).toEqual({
      method: 'POST',
      path: '/api/v1/splits/council/rollback',
      headers: { 'X-Change-Source': 'cli', 'X-Actor': 'bob', 'If-Match': '"abc"' },
      body: { reason: 'p95 above 1s' },
    });
  });

  test('when $USER is unset, then the actor is "cli"', () => {
    expect(requestOf(['promote', 'council'], {}).headers?.['X-Actor']).toBe('cli');
  });

  test('when set is given pairs, then every weight is sent as a number', () => {
    expect(requestOf(['set', 'council', 'main=75', 'canary=25'])).toMatchObject({
      method: 'PUT',
      path: '/api/v1/splits/council/weights',
      body: { weights: { main: 75, canary: 25 } },
    });
  });

  test('when --wait has a timeout, then the query asks for it and the CLI waits that much longer', () => {
    const req = requestOf(['scale', 'council', '--wait', '30s', '25']);

    expect(req.query).toEqual({ wait: 'applied', timeout: '30s' });
    expect(req.extraTimeoutMs).toBe(30_000);
    expect(req.body).toEqual({ percent: 25 });
  });

  test('when --wait has no timeout, then the service default applies', () => {
    const req = requestOf(['scale', 'council', '25', '--wait']);

    expect(req.query).toEqual({ wait: 'applied' });
    expect(req.extraTimeoutMs).toBe(10_000);
  });

  test('when --wait names minutes, then the timeout is sent in ms, which the service reads', () => {
    const req = requestOf(['rollback', 'council', '--wait=1m']);

    expect(req.query).toEqual({ wait: 'applied', timeout: '60000ms' });
    expect(req.extraTimeoutMs).toBe(60_000);
  });

  test('when --wait is followed by a number without a unit, then the number stays the percent', () => {
    const req = requestOf(['scale', 'council', '--wait', '25']);

    expect(req.query).toEqual({ wait: 'applied' });
    expect(req.body).toEqual({ percent: 25 });
  });

  test.each([
    [['scale', 'council'], 'missing <percent>'],
    [['scale', 'council', 'half'], '<percent> must be a number, got "half"'],
    [['scale', 'council', '5', '6'], 'unexpected argument "6"'],
    [['scale', 'council', '5', '--wait=soon'], '--wait takes a duration such as 10s or 1m'],
    [['set', 'council'], 'missing <backend=weight>'],
    [['rollback'], 'missing <split>'],
    [['history', 'council', '--limit', '1.5'], '--limit must be a whole number'],
    [['status', 'a', 'b'], 'unexpected argument "b"'],
    [['status', '--reason', 'x'], 'unknown option --reason'],
  ])('when the command line is %j, then it is a usage error', (argv, message) => {
    expect(usageErrorOf(() => requestOf(argv)).message).toContain(message);
  });
});

describe('parseWeightPairs', () => {
  test('when pairs are well formed, then it maps backend to number', () => {
    expect(parseWeightPairs(['main=0', 'canary=100', 'x-y=7'])).toEqual({
      main: 0,
      canary: 100,
      'x-y': 7,
    });
  });

  test.each([
    [['main'], '"main" is not backend=weight'],
    [['=5'], '"=5" is not backend=weight'],
    [['main=many'], 'the weight of "main" must be a number, got "many"'],
    [['main='], 'the weight of "main" must be a number, got ""'],
    [['main=1', 'main=2'], 'backend "main" is given twice'],
  ])('when the pairs are %j, then it is a usage error', (pairs, message) => {
    expect(usageErrorOf(() => parseWeightPairs(pairs)).message).toBe(message);
  });
});

describe('rollout', () => {
  test('when status, then it GETs the rollout; any other action POSTs to it', () => {
    expect(requestOf(['rollout', 'status', 'council'])).toEqual({
      method: 'GET',
      path: '/api/v1/splits/council/rollout',
    });
    expect(requestOf(['rollout', 'start', 'council', '--version', '1.5.0'])).toEqual({
      method: 'POST',
      path: '/api/v1/splits/council/rollout',
      headers: { 'X-Change-Source': 'cli', 'X-Actor': 'alice' },
      body: { version: '1.5.0' },
    });
    expect(requestOf(['rollout', 'abort', 'council', '--reason', 'red'])).toMatchObject({
      method: 'POST',
      path: '/api/v1/splits/council/rollout/abort',
      body: { reason: 'red' },
    });
    expect(requestOf(['rollout', 'pause', 'council']).path).toBe(
      '/api/v1/splits/council/rollout/pause',
    );
  });

  test.each([
    [['rollout', 'launch', 'council'], 'unknown rollout action "launch"'],
    [['rollout', 'pause', 'council', '--version', '1'], '--version is for `rollout start` only'],
    [['rollout', 'status', 'council', '--reason', 'x'], 'rollout status takes no --reason'],
    [['rollout', 'start'], 'missing <split>'],
    [['rollout', 'pause', 'council', '--if-match', 'x'], 'unknown option --if-match'],
    [['rollout', 'resume', 'council', '--wait'], 'unknown option --wait'],
    [['rollback', 'council', '--if-match', ''], '--if-match needs an ETag'],
    [['scale', 'council', '5', '--if-match', '  '], '--if-match needs an ETag'],
  ])('when the command line is %j, then it is a usage error', (argv, message) => {
    expect(usageErrorOf(() => requestOf(argv)).message).toContain(message);
  });
});

describe('run', () => {
  const capture = () => {
    const out = { stdout: '', stderr: '' };
    return {
      out,
      io: {
        stdout: (t: string) => void (out.stdout += t),
        stderr: (t: string) => void (out.stderr += t),
      },
    };
  };

  test('when --help comes before or after the command, then help is printed and the code is 0', async () => {
    const general = capture();
    const scale = capture();

    expect(await run(['--help'], {}, general.io)).toBe(0);
    expect(await run(['scale', 'council', '--help'], {}, scale.io)).toBe(0);
    expect(general.out.stdout).toContain('Usage: canaryctl <command>');
    expect(general.out.stdout).toContain('  3  authentication: 401/403');
    expect(scale.out.stdout).toMatch(/^Usage: canaryctl scale <split> <percent>/);
    expect(scale.out.stdout).toContain('--wait [timeout]');
  });

  test('when global options come before the command, then the command is still found', async () => {
    const c = capture();

    expect(await run(['--url', 'ftp://nowhere', '--json', 'status'], {}, c.io)).toBe(2);
    expect(c.out.stderr).toContain(
      'CANARY_URL must be an http:// or https:// URL, got "ftp://nowhere"',
    );
  });

  test('when the command is unknown or missing, then it exits 2 on stderr only', async () => {
    const unknown = capture();
    const none = capture();

    expect(await run(['deploy'], {}, unknown.io)).toBe(2);
    expect(await run([], {}, none.io)).toBe(2);
    expect(unknown.out).toEqual({
      stdout: '',
      stderr:
        'canaryctl: unknown command "deploy" (commands: status, set, scale, rollback, promote, history, rollout, help)\nsee: canaryctl help\n',
    });
    expect(none.out.stderr).toContain('no command given');
  });

  test('when help names an unknown command, then it exits 2', async () => {
    const c = capture();

    expect(await run(['help', 'deploy'], {}, c.io)).toBe(2);
  });
});
