import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

/** Writes a splits document to `splits.yaml` in a new temp dir, for services run as processes. */
export function writeSplitsFile(document: unknown): { file: string; dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-splits-'));
  const file = path.join(dir, 'splits.yaml');
  fs.writeFileSync(file, YAML.stringify(document));
  return { file, dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
