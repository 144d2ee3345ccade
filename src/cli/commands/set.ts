import { UsageError } from '../cli-error';
import type { Command } from '../command';
import { splitPath } from '../command';
import { writeResultSchema } from '../../api-contract';
import { expectShape, formatWriteResult } from '../format';
import { operands, parseNumber } from './operands';
import { WRITE_OPTIONS, writeRequest } from './write-options';

/** `main=75 canary=25` → `{ main: 75, canary: 25 }`. The service checks the backends and values. */
export function parseWeightPairs(pairs: string[]): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`"${pair}" is not backend=weight`, 'set');
    const name = pair.slice(0, eq);
    if (Object.hasOwn(weights, name)) {
      throw new UsageError(`backend "${name}" is given twice`, 'set');
    }
    weights[name] = parseNumber(pair.slice(eq + 1), `the weight of "${name}"`, 'set');
  }
  return weights;
}

export const setCommand: Command = {
  name: 'set',
  summary: 'set every backend weight of a split',
  usage: [
    'set <split> <backend=weight>... [--reason text] [--if-match etag] [--actor name] [--wait [timeout]]',
  ],
  description:
    'Sets the weight of every backend of the split in one atomic write (give them all: a\n' +
    'backend left out is refused). Weights are non-negative integers; at least one above 0.\n' +
    "A backend's share is its weight divided by the sum.",
  options: WRITE_OPTIONS,
  examples: [
    'canaryctl set council main=75 canary=25 --reason "second step"',
    'canaryctl set council main=95 canary=5 --if-match \'"3f2a..."\'',
  ],
  request(args, env) {
    const [split, ...pairs] = operands(args, 'set', ['split', 'backend=weight...']);
    return writeRequest(args, env, 'set', 'PUT', splitPath(split, '/weights'), {
      weights: parseWeightPairs(pairs),
    });
  },
  format: (body) => formatWriteResult(expectShape(writeResultSchema, body, 'a write result')),
};
