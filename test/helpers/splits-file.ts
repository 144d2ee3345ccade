import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { councilRouter, councilServers, councilSplit } from './splits-fixtures';

/** Writes a splits document to `splits.yaml` in a new temp dir, for services run as processes. */
export function writeSplitsFile(document: unknown): { file: string; dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-splits-'));
  const file = path.join(dir, 'splits.yaml');
  fs.writeFileSync(file, YAML.stringify(document));
  return { file, dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The council split the e2e tests route through Traefik: `main` and `canary` as servers we define,
 * behind `Host(council.localhost)` on entryPoint `web`; `extra` adds or overrides fields
 * (defaultWeights, rollout, …). `options` gives the canary a version, or the router another host
 * for a test that routes several such splits through one Traefik.
 */
export function routedCouncil(
  main: { url: string },
  canary: { url: string },
  extra: Record<string, unknown> = {},
  options: { canaryVersion?: string; host?: string } = {},
): Record<string, unknown> {
  return councilSplit({
    backends: councilServers(
      { canary: options.canaryVersion },
      { main: main.url, canary: canary.url },
    ),
    router: councilRouter({}, options.host),
    ...extra,
  });
}
