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
  config: ['errors', 'shared'],
  store: ['config', 'errors', 'log', 'metrics', 'shared'],
  traefik: ['store', 'config', 'errors', 'log', 'metrics', 'shared'],
  rollout: ['traefik', 'store', 'config', 'errors', 'log', 'metrics', 'shared'],
  http: ['rollout', 'traefik', 'store', 'config', 'errors', 'log', 'metrics', 'shared'],
  // canaryctl is a client: it talks to the service over HTTP and shares only the neutral pieces.
  cli: ['shared'],
};
const WIRING = ['service', 'main'];

/** One no-restricted-imports block per folder: every other folder it may not reach, and the wiring. */
function layerRules() {
  const folders = Object.keys(LAYERS);
  return Object.entries(LAYERS).map(([folder, allowed]) => {
    const denied = [...folders.filter((f) => f !== folder && !allowed.includes(f)), ...WIRING];
    const may = allowed.length > 0 ? allowed.join(', ') : 'no other folder';
    return {
      files: [`src/${folder}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                regex: `^(?:\\.\\./)+(?:${denied.join('|')})(?:/|$)`,
                message: `layers: src/${folder} may import ${may} (see docs/architecture.md, "Code map").`,
              },
            ],
          },
        ],
      },
    };
  });
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
