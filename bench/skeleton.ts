/** docs/performance.md as first written, before the discussion is filled in by hand. */
export const SKELETON = `# Performance

Reproduce with \`npm run bench\` (needs \`redis-server\`; parts 4 and 5 need the Traefik binary from
\`bash scripts/install-traefik.sh\`, else they are reported as skipped).

## Figures
`;
