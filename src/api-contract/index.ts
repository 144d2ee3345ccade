/**
 * The HTTP contract, defined once: the routes validate requests with these schemas, canaryctl
 * parses the answers with them, and docs/openapi.yaml is generated from them (`npm run openapi`).
 * Plain zod only: the CLI imports this without the server.
 */
export * from './limits';
export * from './operations';
export * from './problem';
export * from './rollout-requests';
export * from './rollout-status';
export * from './split-requests';
export * from './split-status';
