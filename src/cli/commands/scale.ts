import { writeResultSchema } from '../../api-contract';
import type { Command } from '../command';
import { splitPath } from '../command';
import { expectShape, formatWriteResult } from '../format';
import { operands, parseNumber } from './operands';
import { WRITE_OPTIONS, writeRequest } from './write-options';

export const scaleCommand: Command = {
  name: 'scale',
  summary: 'give the canary <percent> % of the traffic, the stable backend the rest',
  usage: [
    'scale <split> <percent> [--reason text] [--if-match etag] [--actor name] [--wait [timeout]]',
  ],
  description:
    'Sets the canary to <percent> (an integer from 0 to 100), the stable backend to\n' +
    '100 - <percent>, and any other backend to 0, in one atomic write.',
  options: WRITE_OPTIONS,
  examples: [
    'canaryctl scale council 5 --reason "first step"',
    'canaryctl scale council 25 --wait 30s',
  ],
  request(args, env) {
    const [split, percent] = operands(args, 'scale', ['split', 'percent']);
    return writeRequest(args, env, 'scale', 'POST', splitPath(split, '/scale'), {
      percent: parseNumber(percent.replace(/%$/, ''), '<percent>', 'scale'),
    });
  },
  format: (body) => formatWriteResult(expectShape(writeResultSchema, body, 'a write result')),
};
