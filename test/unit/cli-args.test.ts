import { parseArgs, type OptionSpec } from '../../src/cli/args';
import { UsageError } from '../../src/cli/cli-error';
import { usageErrorOf } from '../helpers/cli-usage';

const specs: OptionSpec[] = [
  { name: 'reason', type: 'string', valueName: 'text', description: '' },
  { name: 'json', type: 'boolean', description: '' },
  { name: 'help', type: 'boolean', short: 'h', description: '' },
  {
    name: 'wait',
    type: 'optional',
    description: '',
    acceptsNext: (w) => /^\d+(ms|s|m)$/.test(w),
  },
];

describe('parseArgs', () => {
  test('when options and operands mix, then operands keep their order and options their values', () => {
    const args = parseArgs(['council', '--reason', 'step two', '25', '--json'], specs);

    expect(args.positionals).toEqual(['council', '25']);
    expect(Object.fromEntries(args.options)).toEqual({ reason: 'step two', json: true });
  });

  test('when --name=value is used, then the value may hold = and spaces', () => {
    const args = parseArgs(['--reason=a=b c'], specs);

    expect(args.options.get('reason')).toBe('a=b c');
  });

  test('when a short alias is given, then it sets the long option', () => {
    expect(parseArgs(['-h'], specs).options.get('help')).toBe(true);
  });

  test('when -- is given, then every word after it is an operand', () => {
    const args = parseArgs(['set', '--', '--json', '-h'], specs);

    expect(args.positionals).toEqual(['set', '--json', '-h']);
    expect(args.options.size).toBe(0);
  });

  test('when a word looks like a negative number, then it is an operand', () => {
    expect(parseArgs(['council', '-5', 'main=-1'], specs).positionals).toEqual([
      'council',
      '-5',
      'main=-1',
    ]);
  });

  test('when an optional-value option is followed by its kind of value, then it takes it', () => {
    expect(parseArgs(['--wait', '30s', 'council'], specs)).toEqual({
      positionals: ['council'],
      options: new Map([['wait', '30s']]),
    });
  });

  test('when an optional-value option is followed by an operand, then it stays a switch', () => {
    expect(parseArgs(['council', '--wait', '25'], specs)).toEqual({
      positionals: ['council', '25'],
      options: new Map([['wait', true]]),
    });
    expect(parseArgs(['--wait=abc'], specs).options.get('wait')).toBe('abc');
  });

  test.each([
    [['--frobnicate'], 'unknown option --frobnicate (options: --reason, --json, --help, --wait)'],
    [['--frob=1'], 'unknown option --frob'],
    [['-x'], 'unknown option -x'],
    [['--reason'], '--reason needs a value: --reason <text>'],
    [['--reason', '--json'], '--reason needs a value'],
    [['--json=yes'], '--json takes no value'],
    [['--json', '--json'], '--json is given twice'],
  ])('when the words are %j, then it is a usage error', (argv, message) => {
    expect(usageErrorOf(() => parseArgs(argv, specs, 'scale')).message).toContain(message);
  });

  test("when a usage error names its command, then it points at that command's help", () => {
    const err = usageErrorOf(() => parseArgs(['--nope'], specs, 'scale'));

    expect(err).toBeInstanceOf(UsageError);
    expect(err.exitCode).toBe(2);
    expect(err.details).toEqual(['see: canaryctl help scale']);
  });
});
