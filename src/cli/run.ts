import { ApiClient, resolveBaseUrl } from './api-client';
import { hasOption, parseArgs, stringOption } from './args';
import { CliError, UsageError } from './cli-error';
import type { CliEnv } from './command';
import { COMMANDS, findCommand } from './commands';
import { ExitCode } from './exit-codes';
import { commandHelp, generalHelp, GLOBAL_OPTIONS } from './help';
import { startWaitProgress } from './wait-progress';

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
  /** stdout is a terminal (progress is redrawn in place). */
  tty?: boolean;
}

/**
 * Finds the command word: the first operand, skipping global options (and --url's value) that
 * may come before it, as in `canaryctl --json status`.
 */
function splitCommand(argv: string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--url') {
      i++;
      continue;
    }
    if (word === '--') break;
    if (!word.startsWith('-'))
      return { name: word, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: argv };
}

function unknownCommand(name: string): UsageError {
  return new UsageError(
    `unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')}, help)`,
  );
}

async function execute(argv: string[], env: CliEnv, out: CliOutput): Promise<void> {
  const { name, rest } = splitCommand(argv);
  if (name === undefined) {
    const args = parseArgs(rest, GLOBAL_OPTIONS);
    if (hasOption(args, 'help')) {
      out.stdout(`${generalHelp()}\n`);
      return;
    }
    throw new UsageError('no command given');
  }
  if (name === 'help') {
    const topic = rest.find((w) => !w.startsWith('-'));
    if (topic === undefined) {
      out.stdout(`${generalHelp()}\n`);
      return;
    }
    const command = findCommand(topic);
    if (!command) throw unknownCommand(topic);
    out.stdout(`${commandHelp(command)}\n`);
    return;
  }

  const command = findCommand(name);
  if (!command) throw unknownCommand(name);
  const args = parseArgs(rest, [...command.options, ...GLOBAL_OPTIONS], command.name);
  if (hasOption(args, 'help')) {
    out.stdout(`${commandHelp(command)}\n`);
    return;
  }
  const request = command.request(args, env);
  const client = new ApiClient(
    resolveBaseUrl(stringOption(args, 'url') ?? env.CANARY_URL),
    env.CANARY_TOKEN,
  );
  // `--wait` on a terminal: show that canaryctl is waiting for Traefik, and for how long.
  const progress =
    out.tty === true && request.query?.wait === 'applied'
      ? startWaitProgress((t) => out.stderr(t), request.extraTimeoutMs ?? 0)
      : undefined;
  try {
    let response;
    try {
      response = await client.send(request);
    } finally {
      progress?.stop();
    }
    if (hasOption(args, 'json')) {
      out.stdout(`${JSON.stringify(response.body, null, 2)}\n`);
      return;
    }
    if (command.follow && hasOption(args, 'watch')) {
      await command.follow(args, response.body, { client, request, out, tty: out.tty === true });
      return;
    }
    out.stdout(`${command.format(response.body, args)}\n`);
  } finally {
    await client.close();
  }
}

/** Runs one canaryctl command line; returns the exit code (see exit-codes.ts). */
export async function run(argv: string[], env: CliEnv, out: CliOutput): Promise<ExitCode> {
  try {
    await execute(argv, env, out);
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof CliError) {
      out.stderr(`canaryctl: ${err.message}\n${err.details.map((d) => `${d}\n`).join('')}`);
      return err.exitCode;
    }
    out.stderr(`canaryctl: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
    return ExitCode.FAILURE;
  }
}
