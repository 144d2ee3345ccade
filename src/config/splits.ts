import fs from 'node:fs';
import YAML from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors';
import { splitsFileSchema, type RolloutPlan, type SplitDocument } from './splits-schema';

export interface BackendConfig {
  name: string;
  /** A service another provider defines, referenced as-is (`council-main@docker`). */
  service?: string;
  /** Servers we define; emitted as the service `<split>-<backend>`. */
  servers?: string[];
  version?: string;
  healthCheck?: BackendDocument['healthCheck'];
  passiveHealthCheck?: BackendDocument['passiveHealthCheck'];
}

type BackendDocument = SplitDocument['backends'][string];

export interface SplitConfig {
  name: string;
  stable: string;
  canary: string;
  /** Sorted by name: the order every output uses. */
  backends: BackendConfig[];
  /** Complete: one entry per backend. */
  defaultWeights: Record<string, number>;
  router?: SplitDocument['router'];
  sticky?: SplitDocument['sticky'];
  rollout?: RolloutPlan;
}

export interface SplitsConfig {
  file: string;
  /** Sorted by name. */
  splits: SplitConfig[];
  byName: Map<string, SplitConfig>;
}

/** Formats zod issues as `path.inside.document: message`, one per line. */
export function formatIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path
        .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
        .join('');
      return `  ${path || '(document)'}: ${issue.message}`;
    })
    .join('\n');
}

function normalizeSplit(name: string, doc: SplitDocument): SplitConfig {
  const backendNames = Object.keys(doc.backends).sort();
  const defaults: Record<string, number> = {};
  for (const backend of backendNames) {
    defaults[backend] = doc.defaultWeights
      ? Object.hasOwn(doc.defaultWeights, backend)
        ? doc.defaultWeights[backend]
        : 0
      : backend === doc.stable
        ? 100
        : 0;
  }
  return {
    name,
    stable: doc.stable,
    canary: doc.canary,
    backends: backendNames.map((backend) => {
      const def = doc.backends[backend];
      return {
        name: backend,
        service: def.service,
        servers: def.servers,
        version: def.version,
        healthCheck: def.healthCheck,
        passiveHealthCheck: def.passiveHealthCheck,
      };
    }),
    defaultWeights: defaults,
    router: doc.router,
    sticky: doc.sticky,
    rollout: doc.rollout,
  };
}

/** Validates a parsed splits document; `source` names it in errors. */
export function parseSplitsDocument(document: unknown, source: string): SplitsConfig {
  const result = splitsFileSchema.safeParse(document);
  if (!result.success) {
    throw new ConfigError(`${source} is invalid:\n${formatIssues(result.error.issues)}`);
  }
  const splits = Object.keys(result.data.splits)
    .sort()
    .map((name) => normalizeSplit(name, result.data.splits[name]));
  return { file: source, splits, byName: new Map(splits.map((s) => [s.name, s])) };
}

/** Reads, parses and validates splits.yaml. Every failure names the file. */
export function loadSplitsFile(file: string): SplitsConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    const reason =
      (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new ConfigError(`splits file ${file} ${reason} (set SPLITS_FILE to its path)`, { cause });
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      `${file} is not valid YAML:\n${doc.errors.map((e) => `  ${e.message}`).join('\n')}`,
    );
  }
  return parseSplitsDocument(doc.toJS(), file);
}
