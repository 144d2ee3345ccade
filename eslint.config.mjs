import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/ (docs/architecture.md, "Code map"): each folder and what it may import.
 * Imports run one way; src/service.ts and src/main.ts are the wiring and may import anything.
 */
export const LAYERS = {
  errors: [],
  shared: [],
  log: [],
  metrics: [],
  // The HTTP contract (zod): the service's routes and canaryctl read the same schemas.
  'api-contract': ['shared'],
  config: ['api-contract', 'errors', 'shared'],
  store: ['config', 'api-contract', 'errors', 'log', 'metrics', 'shared'],
  traefik: ['store', 'config', 'api-contract', 'errors', 'log', 'metrics', 'shared'],
  rollout: ['traefik', 'store', 'config', 'api-contract', 'errors', 'log', 'metrics', 'shared'],
  http: [
    'rollout',
    'traefik',
    'store',
    'config',
    'api-contract',
    'errors',
    'log',
    'metrics',
    'shared',
  ],
  // canaryctl is a client: it talks to the service over HTTP and shares only the contract and the
  // neutral pieces.
  cli: ['api-contract', 'shared'],
};
const WIRING = ['service', 'main'];

/** Inside src/rollout the same: each part and the parts it may import (index.ts wires them). */
export const ROLLOUT_PARTS = {
  analysis: [],
  notifications: [],
  plan: ['analysis', 'notifications'],
  engine: ['plan', 'analysis', 'notifications'],
};

/** A pattern that refuses `../`-relative imports of `denied`, with the message saying what may be. */
function refuse(where, denied, allowed) {
  const may = allowed.length > 0 ? allowed.join(', ') : 'no other folder';
  return {
    regex: `^(?:\\.\\./)+(?:${denied.join('|')})(?:/|$)`,
    message: `layers: ${where} may import ${may} (see docs/architecture.md, "Code map").`,
  };
}

/**
 * One no-restricted-imports block per folder (and per part of src/rollout, whose block repeats
 * the folder's pattern: a later block replaces the rule's options, it does not add to them).
 */
function layerRules() {
  const folders = Object.keys(LAYERS);
  const folderPattern = (folder) =>
    refuse(
      `src/${folder}`,
      [...folders.filter((f) => f !== folder && !LAYERS[folder].includes(f)), ...WIRING],
      LAYERS[folder],
    );
  const block = (files, patterns) => ({
    files,
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  });
  const parts = Object.keys(ROLLOUT_PARTS);
  return [
    ...folders.map((folder) => block([`src/${folder}/**/*.ts`], [folderPattern(folder)])),
    ...Object.entries(ROLLOUT_PARTS).map(([part, allowed]) => {
      const denied = parts.filter((p) => p !== part && !allowed.includes(p));
      const own = denied.length > 0 ? [refuse(`src/rollout/${part}`, denied, allowed)] : [];
      return block([`src/rollout/${part}/**/*.ts`], [folderPattern('rollout'), ...own]);
    }),
  ];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.cache/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  ...layerRules(),
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        module: 'writable',
        require: 'readonly',
        __dirname: 'readonly',
        process: 'readonly',
      },
    },
  },
  {
    // The operator page: plain ES modules run by the browser.
    files: ['ui/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        window: 'readonly',
        document: 'readonly',
        sessionStorage: 'readonly',
        fetch: 'readonly',
        EventSource: 'readonly',
        setTimeout: 'readonly',
        setInterval: 'readonly',
      },
    },
  },
  {
    files: ['src/cli/**', 'scripts/**', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
);
