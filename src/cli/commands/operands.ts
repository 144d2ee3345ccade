import type { ParsedArgs } from '../args';
import { UsageError } from '../cli-error';

/**
 * Checks the number of operands against the command's usage, naming what is missing or extra.
 * `names` lists the operands in order; a trailing `...` name takes any number (at least one).
 */
export function operands(
  args: ParsedArgs,
  command: string,
  names: string[],
  optional = 0,
): string[] {
  const variadic = names.length > 0 && names[names.length - 1].endsWith('...');
  const required = names.length - optional;
  const given = args.positionals;
  if (given.length < required) {
    throw new UsageError(`missing <${names[given.length].replace('...', '')}>`, command);
  }
  if (!variadic && given.length > names.length) {
    throw new UsageError(`unexpected argument "${given[names.length]}"`, command);
  }
  return given;
}

/** A whole number as people type it; anything else is a usage error naming the operand. */
export function parseNumber(text: string, what: string, command: string): number {
  if (!/^-?\d+(\.\d+)?$/.test(text)) {
    throw new UsageError(`${what} must be a number, got "${text}"`, command);
  }
  return Number(text);
}
