import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_WEIGHT } from '../../src/config/splits-schema';
import { luaSource, SCRIPTS, type ScriptName } from '../../src/store/lua';

const LUA_DIR = path.join(__dirname, '../../src/store/lua');
const names = Object.keys(SCRIPTS) as ScriptName[];

describe('Lua loader', () => {
  test.each(names)(
    'when %s is loaded, then no include line is left and constants come first',
    (name) => {
      const source = luaSource(name);
      expect(source).not.toMatch(/--!include/);
      expect(source.startsWith(`local MAX_WEIGHT = ${MAX_WEIGHT}\n`)).toBe(true);
    },
  );

  test('when a script includes the shared read, then read.lua stands in it once, word for word', () => {
    const read = readFileSync(path.join(LUA_DIR, 'read.lua'), 'utf8');
    for (const name of ['writeWeights', 'recordExternal', 'rolloutTransition'] as const) {
      const source = luaSource(name);
      expect(source.split(read)).toHaveLength(2);
      expect(source.match(/local function read_weights/g)).toHaveLength(1);
    }
  });

  test('when a script does not include the shared read, then it is its file alone', () => {
    const file = readFileSync(path.join(LUA_DIR, 'lease-renew.lua'), 'utf8');
    expect(luaSource('leaseRenew')).toBe(`local MAX_WEIGHT = ${MAX_WEIGHT}\n${file}`);
  });
});
