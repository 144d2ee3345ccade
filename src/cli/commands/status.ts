import { splitListSchema, splitStatusSchema } from '../api-types';
import type { Command } from '../command';
import { splitPath } from '../command';
import { expectShape, formatStatus } from '../format';
import { operands } from './operands';

export const statusCommand: Command = {
  name: 'status',
  summary: 'show splits: weights stored and served, shares, source, validity, staleness',
  usage: ['status [split] [--json]'],
  description:
    'Shows every split, or one, as the service serves it to Traefik: per backend the weight\n' +
    'stored in Redis, the weight served and its share; where the served weights come from\n' +
    '(redis, default, last-valid), whether the stored weights are valid (and why not), and\n' +
    'whether the service is serving a stale configuration because Redis is unreachable.\n' +
    'With one split it also prints the ETag to pass to --if-match.',
  options: [],
  examples: ['canaryctl status', 'canaryctl status council', 'canaryctl status council --json'],
  request(args) {
    const [split] = operands(args, 'status', ['split'], 1);
    return { method: 'GET', path: split === undefined ? '/api/v1/splits' : splitPath(split) };
  },
  format(body) {
    if (typeof body === 'object' && body !== null && 'splits' in body) {
      return formatStatus(expectShape(splitListSchema, body, 'a list of splits').splits);
    }
    const split = expectShape(splitStatusSchema, body, 'a split status');
    return `${formatStatus([split])}\netag: ${split.etag ?? '-'}`;
  },
};
