import { writeResultSchema } from '../../api-contract';
import type { Command } from '../command';
import { splitPath } from '../command';
import { expectShape, formatWriteResult } from '../format';
import { operands } from './operands';
import { WRITE_OPTIONS, writeRequest } from './write-options';

/** rollback and promote: all traffic to one backend, named by the split's stable or canary. */
function moveAll(name: 'rollback' | 'promote', summary: string, description: string): Command {
  return {
    name,
    summary,
    usage: [`${name} <split> [--reason text] [--if-match etag] [--actor name] [--wait [timeout]]`],
    description,
    options: WRITE_OPTIONS,
    examples: [
      `canaryctl ${name} council --reason "${name === 'rollback' ? 'p95 above 1s' : 'all checks green'}"`,
    ],
    request(args, env) {
      const [split] = operands(args, name, ['split']);
      return writeRequest(args, env, name, 'POST', splitPath(split, `/${name}`), {});
    },
    format: (body) => formatWriteResult(expectShape(writeResultSchema, body, 'a write result')),
  };
}

export const rollbackCommand = moveAll(
  'rollback',
  'send all traffic to the stable backend (canary to 0 %)',
  'Sets the stable backend to 100 and every other backend to 0, in one atomic write.',
);

export const promoteCommand = moveAll(
  'promote',
  'send all traffic to the canary backend',
  'Sets the canary backend to 100 and every other backend to 0, in one atomic write.',
);
