/**
 * The HTTP contract, defined once: the routes validate requests with these schemas, canaryctl
 * parses the answers with them, and docs/openapi.yaml is generated from them (`npm run openapi`).
 * Plain zod only: the CLI imports this without the server. Answers are loose objects, so a field
 * a newer service adds passes through (canaryctl shows it as an extra fact); request bodies are
 * strict, so an unknown field is a 400.
 */
export * from './limits';
export * from './operations';
export * from './problem';
export * from './rollout-requests';
export * from './rollout-status';
export * from './split-requests';
export * from './split-status';
