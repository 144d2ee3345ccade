import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { MAX_WEIGHT } from '../api-contract/limits';

/**
 * The one loader of the Lua run inside Redis. Each script lives in `lua/<name>.lua` (shipped next
 * to the compiled loader by `npm run build`) and is one atomic step: no other client sees a hash
 * without its audit event, or an event without its hash.
 *
 * Scripts are registered with ioredis `defineCommand`, so they run by EVALSHA; a connection sends
 * a script's text only the first time, and again only when Redis answers NOSCRIPT (after a
 * `SCRIPT FLUSH`, a restart, or a failover to a replica that never ran it).
 */

const LUA_DIR = path.join(__dirname, 'lua');

/** Values the Lua shares with the TypeScript side, defined as locals at the top of every script. */
const CONSTANTS: Record<string, number> = { MAX_WEIGHT };

/** `--!include read.lua` on a line of its own is replaced by that file (once per script). */
const INCLUDE = /^--!include ([a-z][a-z0-9-]*\.lua)[ \t]*$/gm;

/** Every script, by the command name it is registered under. */
export const SCRIPTS = {
  writeWeights: { file: 'write-weights.lua', numberOfKeys: 4 },
  recordExternal: { file: 'record-external.lua', numberOfKeys: 3 },
  rolloutTransition: { file: 'rollout-transition.lua', numberOfKeys: 5 },
  writeRolloutState: { file: 'write-rollout-state.lua', numberOfKeys: 2 },
  leaseRenew: { file: 'lease-renew.lua', numberOfKeys: 1 },
  leaseRelease: { file: 'lease-release.lua', numberOfKeys: 1 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/** A Redis connection with every script registered as a command. */
export type ScriptedRedis = Redis & Record<ScriptName, ScriptCall>;

function readLua(file: string, included: readonly string[]): string {
  if (included.includes(file)) {
    throw new Error(`Lua include cycle: ${[...included, file].join(' -> ')}`);
  }
  let text: string;
  try {
    text = readFileSync(path.join(LUA_DIR, file), 'utf8');
  } catch (cause) {
    throw new Error(`cannot read the Lua script ${path.join(LUA_DIR, file)}`, { cause });
  }
  return text.replace(INCLUDE, (_line, name: string) => readLua(name, [...included, file]));
}

const sources = new Map<ScriptName, string>();

/** The full text of a script as Redis runs it: constants, then the file with its includes. */
export function luaSource(name: ScriptName): string {
  let source = sources.get(name);
  if (source === undefined) {
    const constants = Object.entries(CONSTANTS)
      .map(([k, v]) => `local ${k} = ${v}\n`)
      .join('');
    source = constants + readLua(SCRIPTS[name].file, []);
    sources.set(name, source);
  }
  return source;
}

/**
 * Registers every script on this connection (once; later calls return it as it is) and returns it
 * typed with the script commands.
 */
export function withScripts(redis: Redis): ScriptedRedis {
  const scripted = redis as ScriptedRedis;
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    if (typeof scripted[name] !== 'function') {
      redis.defineCommand(name, { numberOfKeys: SCRIPTS[name].numberOfKeys, lua: luaSource(name) });
    }
  }
  return scripted;
}
