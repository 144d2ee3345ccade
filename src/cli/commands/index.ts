import type { Command } from '../command';
import { historyCommand } from './history';
import { promoteCommand, rollbackCommand } from './move-all';
import { rolloutCommand } from './rollout';
import { scaleCommand } from './scale';
import { setCommand } from './set';
import { statusCommand } from './status';

/** Every command, in the order help lists them. */
export const COMMANDS: readonly Command[] = [
  statusCommand,
  setCommand,
  scaleCommand,
  rollbackCommand,
  promoteCommand,
  historyCommand,
  rolloutCommand,
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
