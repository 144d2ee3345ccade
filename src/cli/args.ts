import { UsageError } from './cli-error';

export interface OptionSpec {
  /** Long name without dashes: `reason` is `--reason`. */
  name: string;
  /**
   * `boolean`: a switch. `string`: takes a value (`--reason text` or `--reason=text`).
   * `optional`: a switch that takes a value only in the `--wait=10s` form, or as the next word
   * when `acceptsNext` says that word is its value (so `--wait 25` leaves 25 to the command).
   */
  type: 'boolean' | 'string' | 'optional';
  short?: string;
  /** Shown in help: `--limit <n>`. */
  valueName?: string;
  description: string;
  acceptsNext?: (word: string) => boolean;
}

export interface ParsedArgs {
  positionals: string[];
  /** `true` for a switch given without a value. */
  options: Map<string, string | true>;
}

/** A word that looks like a negative number is an operand, not an option (`set c main=-1`). */
const NEGATIVE_NUMBER = /^-\d/;

/**
 * Splits a command line into operands and options, by the specs given. Options may come anywhere;
 * `--` ends them. Throws UsageError naming the option and the command.
 */
export function parseArgs(argv: string[], specs: OptionSpec[], command?: string): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.flatMap((s) => (s.short ? [[s.short, s] as const] : [])));
  const positionals: string[] = [];
  const options = new Map<string, string | true>();

  const set = (spec: OptionSpec, value: string | true): void => {
    if (options.has(spec.name)) throw new UsageError(`--${spec.name} is given twice`, command);
    options.set(spec.name, value);
  };

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith('-') || word === '-' || NEGATIVE_NUMBER.test(word)) {
      positionals.push(word);
      continue;
    }

    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq === -1 ? word.slice(2) : word.slice(2, eq);
      inline = eq === -1 ? undefined : word.slice(eq + 1);
      spec = byLong.get(name);
    } else if (word.length === 2) {
      spec = byShort.get(word.slice(1));
    }
    if (!spec) {
      const known = specs.map((s) => `--${s.name}`).join(', ');
      throw new UsageError(`unknown option ${word.split('=')[0]} (options: ${known})`, command);
    }

    switch (spec.type) {
      case 'boolean':
        if (inline !== undefined) throw new UsageError(`--${spec.name} takes no value`, command);
        set(spec, true);
        break;
      case 'string': {
        const value = inline ?? argv[i + 1];
        if (value === undefined || (inline === undefined && value.startsWith('--'))) {
          throw new UsageError(
            `--${spec.name} needs a value: --${spec.name} <${spec.valueName ?? 'value'}>`,
            command,
          );
        }
        if (inline === undefined) i++;
        set(spec, value);
        break;
      }
      case 'optional': {
        if (inline !== undefined) {
          set(spec, inline);
        } else if (i + 1 < argv.length && spec.acceptsNext?.(argv[i + 1])) {
          set(spec, argv[++i]);
        } else {
          set(spec, true);
        }
        break;
      }
    }
  }
  return { positionals, options };
}

/** The value of a string option, or undefined. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.options.get(name);
  return typeof value === 'string' ? value : undefined;
}

export function hasOption(args: ParsedArgs, name: string): boolean {
  return args.options.has(name);
}
