import type { ApiClient, ApiRequest } from './api-client';
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
  /**
   * Optional: keeps following the answer after it is printed (e.g. `rollout status --watch`),
   * re-sending the same request; resolves when there is nothing more to follow.
   */
  follow?(args: ParsedArgs, first: unknown, ctx: FollowContext): Promise<void>;
}

/** What a command's follow-up reads need. */
export interface FollowContext {
  client: ApiClient;
  request: ApiRequest;
  out: { stdout(text: string): void };
  /** stdout is a terminal: redraw in place. */
  tty: boolean;
}

/** The API path of a split, its name encoded. */
export function splitPath(split: string, suffix = ''): string {
  return `/api/v1/splits/${encodeURIComponent(split)}${suffix}`;
}
