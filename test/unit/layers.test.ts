import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/build-dist';

/**
 * ESLint's Node API, run on the repository's own eslint.config.mjs in a child Node (the config
 * is an ES module, which Jest's module system does not load): every case linted as if it were a
 * file at its path, answering the layer rule's messages of each.
 */
const LINT = `
import { ESLint } from 'eslint';
const cases = JSON.parse(process.argv[1]);
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const [file, source] of cases) {
  const [result] = await eslint.lintText(source, { filePath: file });
  out.push(result.messages.filter((m) => m.ruleId === 'layers/imports').map((m) => m.message));
}
process.stdout.write(JSON.stringify(out));
`;

function lint(cases: [string, string][]): string[][] {
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      LINT,
      JSON.stringify(cases.map(([f, s]) => [path.join(ROOT, f), s])),
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  return JSON.parse(out) as string[][];
}

/** A case's first line, to tell the cases apart in their titles. */
function firstLine(source: string): string {
  return source.split('\n')[0];
}

/** Imports against the layers: [file, source, the folder the message names]. */
const ACROSS: [string, string, string][] = [
  [
    'src/store/x.ts',
    "import { Lease } from '../rollout/lease';\nexport const l = Lease;\n",
    'src/store',
  ],
  [
    'src/config/x.ts',
    "import type { WeightsStore } from '../store/weights-store';\nexport type S = WeightsStore;\n",
    'src/config',
  ],
  [
    'src/rollout/x.ts',
    "export { rolloutRoutes } from '../http/routes/rollout-routes';\n",
    'src/rollout',
  ],
  [
    'src/cli/commands/x.ts',
    "import { createKeys } from '../../store/keys';\nexport const k = createKeys;\n",
    'src/cli',
  ],
  [
    'src/rollout/analysis/x.ts',
    "import { Lease } from '../engine/lease';\nexport const l = Lease;\n",
    'src/rollout/analysis',
  ],
  [
    'src/rollout/plan/x.ts',
    "import { rolloutRoutes } from '../../http/routes/rollout-routes';\nexport const r = rolloutRoutes;\n",
    'src/rollout',
  ],
  [
    'src/traefik/x.ts',
    "import { startService } from '../service';\nexport const s = startService;\n",
    'src/traefik',
  ],
  // The rule judges where an import lands, however its string is spelt or whatever brings it in.
  [
    'src/store/x.ts',
    "import { Lease } from './../rollout/lease';\nexport const l = Lease;\n",
    'src/store',
  ],
  [
    'src/rollout/engine/x.ts',
    "import { rolloutRoutes } from '../../../src/http/routes/rollout-routes';\nexport const r = rolloutRoutes;\n",
    'src/rollout',
  ],
  [
    'src/config/x.ts',
    "const store = require('../store/weights-store');\nexport const s = store;\n",
    'src/config',
  ],
  ['src/traefik/x.ts', "export const s = () => import('../service');\n", 'src/traefik'],
  [
    'src/rollout/analysis/x.ts',
    "export const l = () => import('./../engine/lease');\n",
    'src/rollout/analysis',
  ],
  ['src/metrics/x.ts', "export * from './../store/keys';\n", 'src/metrics'],
];

/** Imports along the layers: [file, source]. */
const ALONG: [string, string][] = [
  [
    'src/http/routes/x.ts',
    "import { RolloutConflictError } from '../../rollout/rollout-conflict-error';\nexport const e = RolloutConflictError;\n",
  ],
  [
    'src/rollout/x.ts',
    "import { createKeys } from '../store/keys';\nexport const k = createKeys;\n",
  ],
  [
    'src/rollout/engine/x.ts',
    "import { isActive } from '../plan/rollout-state';\nimport { createKeys } from '../../store/keys';\nexport const a = [isActive, createKeys];\n",
  ],
  [
    'src/cli/x.ts',
    "import { parseDuration } from '../shared/duration';\nexport const p = parseDuration;\n",
  ],
  [
    'src/rollout/engine/x.ts',
    "import { createKeys } from '../../../src/store/keys';\nexport const k = () => [createKeys, import('./../plan/rollout-state')];\n",
  ],
  [
    'src/store/lua/x.ts',
    "const keys = require('../keys');\nexport * from './../keys';\nexport const k = keys;\n",
  ],
  [
    'src/wiring.ts',
    "import { rolloutRoutes } from './http/routes/rollout-routes';\nexport const r = rolloutRoutes;\n",
  ],
];

describe('layers: npm run lint refuses an import against them', () => {
  let across: string[][];
  let along: string[][];
  beforeAll(() => {
    const all = lint([...ACROSS.map(([f, s]): [string, string] => [f, s]), ...ALONG]);
    across = all.slice(0, ACROSS.length);
    along = all.slice(ACROSS.length);
  }, 120_000);

  test.each(ACROSS.map((c, i) => [c[0], firstLine(c[1]), i, c[2]] as const))(
    'when %s has %s across the layers, then lint reports it',
    (_file, _line, i, folder) => {
      expect(across[i]).toHaveLength(1);
      expect(across[i][0]).toContain(`layers: ${folder} may import`);
      expect(across[i][0]).toContain('docs/architecture.md');
    },
  );

  test.each(ALONG.map((c, i) => [c[0], firstLine(c[1]), i] as const))(
    'when %s has %s along the layers, then lint has nothing to say',
    (_file, _line, i) => {
      expect(along[i]).toEqual([]);
    },
  );
});
