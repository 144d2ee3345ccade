import { stringOption } from '../args';
import { UsageError } from '../cli-error';
import type { Command } from '../command';
import { splitPath } from '../command';
import { formatRollout } from '../format';
import { operands } from './operands';
import { watchRollout } from './rollout-watch';
import { WRITE_OPTIONS, writeRequest } from './write-options';

export const ROLLOUT_ACTIONS = [
  'start',
  'status',
  'pause',
  'resume',
  'promote',
  'abort',
  'finalise',
] as const;
type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

function isAction(word: string): word is RolloutAction {
  return (ROLLOUT_ACTIONS as readonly string[]).includes(word);
}

/**
 * The rollout controller's API: `status` is a GET of the split's rollout, `start` a POST of it,
 * every other action a POST to `rollout/<action>`. The answer's one-line summary and its checks
 * are printed; an answer of another shape is printed as JSON.
 */
export const rolloutCommand: Command = {
  name: 'rollout',
  summary: 'staged rollouts: start, status, pause, resume, promote (next step), abort, finalise',
  usage: [
    'rollout status <split> [--watch]',
    'rollout start <split> [--version v] [--reason text] [--actor name]',
    'rollout pause|resume|promote|abort|finalise <split> [--reason text] [--actor name]',
  ],
  description:
    "Drives the split's rollout plan (splits.yaml): `start` begins at the first step\n" +
    "(--version names the canary's version), `pause` and `resume` hold and continue it,\n" +
    '`promote` moves to the next step now, `abort` rolls back to the stable backend.\n' +
    '`finalise` ends a completed rollout once the stable runs the new version: stable 100 %.\n' +
    "`status` shows the step, the bake time and each check; --json prints the service's answer.",
  // The rollout API takes no If-Match and no ?wait: the controller applies its steps itself.
  options: [
    ...WRITE_OPTIONS.filter((o) => o.name === 'reason' || o.name === 'actor'),
    {
      name: 'version',
      type: 'string',
      valueName: 'v',
      description: "start: the canary's version (feeds swarm_deployment_version)",
    },
    {
      name: 'watch',
      type: 'boolean',
      description:
        'status: redraw the progress every second until the rollout completes or rolls back',
    },
  ],
  examples: [
    'canaryctl rollout start council --version 1.5.0',
    'canaryctl rollout status council',
    'canaryctl rollout status council --watch',
    'canaryctl rollout abort council --reason "error ratio above 2 %"',
    'canaryctl rollout finalise council',
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
      const writeOnly = ['version', 'reason', 'actor'].filter((o) => args.options.has(o));
      if (writeOnly.length > 0) {
        throw new UsageError(`rollout status takes no --${writeOnly[0]}`, 'rollout');
      }
      return { method: 'GET', path: splitPath(split, '/rollout') };
    }
    if (args.options.has('watch')) {
      throw new UsageError('--watch is for `rollout status` only', 'rollout');
    }
    if (version !== undefined && action !== 'start') {
      throw new UsageError('--version is for `rollout start` only', 'rollout');
    }
    // Starting is a POST of the rollout itself; the other actions are sub-resources.
    const path = splitPath(split, action === 'start' ? '/rollout' : `/rollout/${action}`);
    return writeRequest(
      args,
      env,
      'rollout',
      'POST',
      path,
      version === undefined ? {} : { version },
    );
  },
  format: formatRollout,
  follow: watchRollout,
};
