import { parseDuration, WAIT_TIMEOUT } from '../../shared/duration';
import type { ApiRequest } from '../api-client';
import { stringOption, type OptionSpec, type ParsedArgs } from '../args';
import { UsageError } from '../cli-error';
import type { CliEnv } from '../command';

/** The service's own default when --wait names no timeout (splits-routes parseWait). */
const DEFAULT_WAIT_MS = 10_000;

export const WRITE_OPTIONS: OptionSpec[] = [
  {
    name: 'reason',
    type: 'string',
    valueName: 'text',
    description: 'why: recorded in the audit trail (at most 500 characters)',
  },
  {
    name: 'if-match',
    type: 'string',
    valueName: 'etag',
    description:
      'write only if the split is still at this ETag (from `status`); else refused, exit 4',
  },
  {
    name: 'actor',
    type: 'string',
    valueName: 'name',
    description: 'who: recorded in the audit trail (default: $USER, else "cli")',
  },
  {
    name: 'wait',
    type: 'optional',
    valueName: 'timeout',
    description:
      'answer only once every Traefik the service watches has applied the change (e.g. --wait 30s); exit 5 when it times out',
    acceptsNext: (word) => parseDuration(word) !== undefined,
  },
];

/**
 * A write request: the body plus `reason`, the headers that attribute the change to the CLI and
 * its actor, If-Match, and `?wait=applied&timeout=…` for --wait.
 */
export function writeRequest(
  args: ParsedArgs,
  env: CliEnv,
  command: string,
  method: 'POST' | 'PUT',
  path: string,
  body: Record<string, unknown>,
): ApiRequest {
  const reason = stringOption(args, 'reason');
  const ifMatch = stringOption(args, 'if-match');
  const actor = stringOption(args, 'actor') ?? (env.USER || 'cli');
  const headers: Record<string, string> = { 'X-Change-Source': 'cli', 'X-Actor': actor };
  if (ifMatch !== undefined) {
    // An empty ETag is a mistake (an unset shell variable), never "write whatever is there".
    if (ifMatch.trim() === '') {
      throw new UsageError(
        '--if-match needs an ETag such as \'"3f2a…"\' (from `canaryctl status <split>`), got an empty one',
        command,
      );
    }
    headers['If-Match'] = ifMatch;
  }

  const req: ApiRequest = {
    method,
    path,
    headers,
    body: reason === undefined ? body : { ...body, reason },
  };
  const wait = args.options.get('wait');
  if (wait !== undefined) {
    req.query = { wait: 'applied' };
    let allowance = DEFAULT_WAIT_MS;
    if (typeof wait === 'string') {
      const ms = parseDuration(wait);
      if (ms === undefined) {
        throw new UsageError(`--wait takes a duration such as 10s or 1m, got "${wait}"`, command);
      }
      // The service reads whole ms or s; other durations (1m) are sent in ms.
      req.query.timeout = parseDuration(wait, WAIT_TIMEOUT) === undefined ? `${ms}ms` : wait;
      allowance = ms;
    }
    req.extraTimeoutMs = allowance;
  }
  return req;
}
