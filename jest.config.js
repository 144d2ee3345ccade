/** @type {import('jest').Config} */
const project = (name, extra = {}) => ({
  displayName: name,
  testEnvironment: 'node',
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  // Type checking is `npm run typecheck`'s job; tests only transpile, which keeps them fast.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // Stops at once, with one message, when a tool the project's suites start is missing.
  globalSetup: '<rootDir>/test/global-setup.js',
  ...extra,
});

module.exports = {
  projects: [project('unit'), project('integration'), project('e2e')],
  testTimeout: 30000,
};
