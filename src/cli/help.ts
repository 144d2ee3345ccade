import { DEFAULT_URL } from './api-client';
import type { OptionSpec } from './args';
import type { Command } from './command';
import { COMMANDS } from './commands';
import { EXIT_CODE_HELP } from './exit-codes';

export const GLOBAL_OPTIONS: OptionSpec[] = [
  {
    name: 'url',
    type: 'string',
    valueName: 'url',
    description: `the service's URL (default: $CANARY_URL, else ${DEFAULT_URL})`,
  },
  { name: 'json', type: 'boolean', description: "print the service's JSON answer as is" },
  { name: 'help', type: 'boolean', short: 'h', description: 'show help' },
];

const ENVIRONMENT = `Environment:
  CANARY_URL    the service's URL (default ${DEFAULT_URL})
  CANARY_TOKEN  bearer token sent as Authorization: Bearer; writes need the service's ADMIN_TOKEN
  USER          the default --actor`;

function optionLines(options: OptionSpec[]): string[] {
  const left = options.map((o) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}`;
    if (o.type === 'string') return `${flag} <${o.valueName ?? 'value'}>`;
    if (o.type === 'optional') return `${flag} [${o.valueName ?? 'value'}]`;
    return flag;
  });
  const width = Math.max(...left.map((l) => l.length));
  return options.map((o, i) => `  ${left[i].padEnd(width)}  ${o.description}`);
}

/** `canaryctl --help`: every command, the environment and the exit codes. */
export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'canaryctl: inspect and change the canary splits that traefik-canary-provider serves to Traefik',
    '',
    'Usage: canaryctl <command> [arguments] [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${'help'.padEnd(width)}  help <command>: a command's arguments and options`,
    '',
    'Options (every command):',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    ENVIRONMENT,
    '',
    EXIT_CODE_HELP,
  ].join('\n');
}

/** `canaryctl help <command>` and `canaryctl <command> --help`. */
export function commandHelp(command: Command): string {
  return [
    ...command.usage.map((u, i) => `${i === 0 ? 'Usage: ' : '       '}canaryctl ${u}`),
    '',
    command.description,
    '',
    'Options:',
    ...optionLines([...command.options, ...GLOBAL_OPTIONS]),
    '',
    'Examples:',
    ...command.examples.map((e) => `  ${e}`),
    '',
    ENVIRONMENT,
    '',
    EXIT_CODE_HELP,
  ].join('\n');
}
