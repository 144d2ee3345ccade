import { historySchema } from '../../api-contract';
import { stringOption } from '../args';
import { UsageError } from '../cli-error';
import type { Command } from '../command';
import { splitPath } from '../command';
import { expectShape, formatHistory } from '../format';
import { operands } from './operands';

export const historyCommand: Command = {
  name: 'history',
  summary: "show a split's audit trail, newest first",
  usage: ['history <split> [--limit n] [--json]'],
  description:
    'Lists the recorded changes of the split, newest first: when, what, from which source\n' +
    '(api, cli, controller, external = a change made with redis-cli), by whom, the weights\n' +
    'before -> after, and why.',
  options: [
    {
      name: 'limit',
      type: 'string',
      valueName: 'n',
      description: 'how many events (1 to 1000, default 20)',
    },
  ],
  examples: ['canaryctl history council', 'canaryctl history council --limit 5 --json'],
  request(args) {
    const [split] = operands(args, 'history', ['split']);
    const limit = stringOption(args, 'limit');
    if (limit !== undefined && !/^\d+$/.test(limit)) {
      throw new UsageError(`--limit must be a whole number, got "${limit}"`, 'history');
    }
    return {
      method: 'GET',
      path: splitPath(split, '/history'),
      ...(limit !== undefined && { query: { limit } }),
    };
  },
  format(body) {
    const history = expectShape(historySchema, body, 'an audit trail');
    return formatHistory(history.split, history.events);
  },
};
