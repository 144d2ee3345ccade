import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './eslint/layers.mjs';

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
  {
    files: ['src/**/*.ts'],
    plugins: { layers },
    rules: {
      'layers/imports': ['error', { layers: LAYERS, rolloutParts: ROLLOUT_PARTS, wiring: WIRING }],
    },
  },
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
