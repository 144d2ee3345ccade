import { splitListSchema, splitStatusSchema, type SplitStatus } from '../../api-contract';
import type { Command } from '../command';
import { splitPath } from '../command';
import { expectShape, formatStatus } from '../format';
import { operands } from './operands';

/** The splits of a status answer: the list, or the one split asked for. */
function splitsOf(body: unknown): { splits: SplitStatus[]; one: boolean } {
  if (typeof body === 'object' && body !== null && 'splits' in body) {
    return { splits: expectShape(splitListSchema, body, 'a list of splits').splits, one: false };
  }
  return { splits: [expectShape(splitStatusSchema, body, 'a split status')], one: true };
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'show splits: weights stored and served, shares, source, validity, staleness',
  usage: ['status [split] [--json]'],
  description:
    'Shows every split, or one, as the service serves it to Traefik: per backend the weight\n' +
    'stored in Redis, the weight served and its share; where the served weights come from\n' +
    '(redis, default, last-valid, or snapshot: the last-good snapshot served at a start without\n' +
    'Redis), whether the stored weights are valid (and why not), and\n' +
    'whether the service is serving a stale configuration because Redis is unreachable.\n' +
    'Then a progress line per rollout, and what each Traefik applied (TRAEFIK_API_URLS).\n' +
    'With one split it also prints the ETag to pass to --if-match.',
  options: [],
  examples: ['canaryctl status', 'canaryctl status council', 'canaryctl status council --json'],
  request(args) {
    const [split] = operands(args, 'status', ['split'], 1);
    return { method: 'GET', path: split === undefined ? '/api/v1/splits' : splitPath(split) };
  },
  // A split's status carries its rollout (summary line) and what each Traefik applied.
  format(body) {
    const { splits, one } = splitsOf(body);
    const lines = [formatStatus(splits)];
    if (one) lines.push(`etag: ${splits[0].etag ?? '-'}`);
    return lines.join('\n');
  },
};
