import { stringOption } from '../args';
import { UsageError } from '../cli-error';
import type { Command } from '../command';
import { splitPath } from '../command';
import { operands } from './operands';
import { WRITE_OPTIONS, writeRequest } from './write-options';

export const ROLLOUT_ACTIONS = ['start', 'status', 'pause', 'resume', 'promote', 'abort'] as const;
type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

function isAction(word: string): word is RolloutAction {
  return (ROLLOUT_ACTIONS as readonly string[]).includes(word);
}

/**
 * The rollout controller's API, generically: `status` is a GET of the split's rollout, every
 * other action a POST to `rollout/<action>`. The answer is printed as JSON.
 */
export const rolloutCommand: Command = {
  name: 'rollout',
  summary: 'staged rollouts: start, status, pause, resume, promote (next step), abort',
  usage: [
    'rollout status <split>',
    'rollout start <split> [--version v] [--reason text] [--if-match etag] [--actor name] [--wait [timeout]]',
    'rollout pause|resume|promote|abort <split> [--reason text] [--if-match etag] [--actor name] [--wait [timeout]]',
  ],
  description:
    "Drives the split's rollout plan (splits.yaml): `start` begins at the first step\n" +
    "(--version names the canary's version), `pause` and `resume` hold and continue it,\n" +
    '`promote` moves to the next step now, `abort` rolls back to the stable backend.\n' +
    "`status` shows the step, the bake time and each check. Prints the service's JSON answer.",
  options: [
    ...WRITE_OPTIONS,
    {
      name: 'version',
      type: 'string',
      valueName: 'v',
      description: "start: the canary's version (feeds swarm_deployment_version)",
    },
  ],
  examples: [
    'canaryctl rollout start council --version 1.5.0',
    'canaryctl rollout status council',
    'canaryctl rollout abort council --reason "error ratio above 2 %"',
  ],
  request(args, env) {
    const [action, split] = operands(args, 'rollout', ['action', 'split']);
    if (!isAction(action)) {
      throw new UsageError(
        `unknown rollout action "${action}" (actions: ${ROLLOUT_ACTIONS.join(', ')})`,
        'rollout',
      );
    }
    const version = stringOption(args, 'version');
    if (action === 'status') {
      const writeOnly = ['version', ...WRITE_OPTIONS.map((o) => o.name)].filter((o) =>
        args.options.has(o),
      );
      if (writeOnly.length > 0) {
        throw new UsageError(`rollout status takes no --${writeOnly[0]}`, 'rollout');
      }
      return { method: 'GET', path: splitPath(split, '/rollout') };
    }
    if (version !== undefined && action !== 'start') {
      throw new UsageError('--version is for `rollout start` only', 'rollout');
    }
    return writeRequest(
      args,
      env,
      'rollout',
      'POST',
      splitPath(split, `/rollout/${action}`),
      version === undefined ? {} : { version },
    );
  },
  format: (body) => JSON.stringify(body, null, 2),
};
