import type { ApiRequest } from './api-client';
import type { OptionSpec, ParsedArgs } from './args';

/** The answer to one of a command's further reads, or why there is none. */

/** The environment canaryctl reads. */
export interface CliEnv {
  CANARY_URL?: string;
  CANARY_TOKEN?: string;
  USER?: string;
}

/**
 * One canaryctl command: how it turns its arguments into one API request (pure, so it is unit
 * tested without a service) and how it prints the answer.
 */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage lines, without the leading `canaryctl `. */
  usage: string[];
  description: string;
  options: OptionSpec[];
  examples: string[];
  /** Throws UsageError when the arguments are wrong. */
  request(args: ParsedArgs, env: CliEnv): ApiRequest;
  /** Text for people; `--json` prints the answer's JSON instead. */
  format(body: unknown, args: ParsedArgs): string;
}

/** The API path of a split, its name encoded. */
export function splitPath(split: string, suffix = ''): string {
  return `/api/v1/splits/${encodeURIComponent(split)}${suffix}`;
}
