import fs from 'node:fs';
import path from 'node:path';
import { runProcess } from './child-process';

/** The repository root, from the source tree or from dist/. */
export const ROOT = ((): string => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'tsconfig.build.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find tsconfig.build.json above ${__dirname}`);
    dir = up;
  }
  return dir;
})();

/** `dir` itself when it is a file, else the files below it whose name ends with one of `endings`. */
function filesUnder(dir: string, endings: readonly string[]): string[] {
  if (fs.statSync(path.join(ROOT, dir)).isFile()) return [dir];
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return filesUnder(rel, endings);
    return endings.some((end) => e.name.endsWith(end)) ? [rel] : [];
  });
}

/**
 * The sources under `dirs` (folders or files relative to the root, e.g. ['src']) whose output in
 * dist/ is missing or older: compiled `.ts` files and the `.lua` scripts the build copies as they are.
 */
export function staleOutputs(dirs: readonly string[]): string[] {
  return dirs
    .flatMap((dir) => filesUnder(dir, ['.ts', '.lua']))
    .filter((src) => {
      const out = path.join(ROOT, 'dist', src).replace(/\.ts$/, '.js');
      return (
        !fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(path.join(ROOT, src)).mtimeMs
      );
    });
}

/**
 * Runs `npm run build` (what the bench, the demo and the Dockerfile run): whether it succeeded,
 * and its output. Rejects when it takes over `timeoutMs`.
 */
export async function buildDist(timeoutMs = 120_000): Promise<{ ok: boolean; output: string }> {
  const run = await runProcess('npm', ['run', 'build', '--silent'], { cwd: ROOT, timeoutMs });
  const output = run.stdout + run.stderr;
  return { ok: run.code === 0, output: run.code === 0 ? output : `${output}\n(exit ${run.code})` };
}

/**
 * Builds dist/ when an output of `dirs` is missing or older than its source, and throws when the
 * build leaves one so. A type error elsewhere in the tree (tsc still emits) does not stop a test
 * whose outputs are fresh; a stale output does.
 */
export async function ensureBuilt(dirs: readonly string[]): Promise<void> {
  if (staleOutputs(dirs).length === 0) return;
  const result = await buildDist();
  const stale = staleOutputs(dirs);
  if (stale.length > 0) {
    throw new Error(`the build left dist/ stale (${stale.join(', ')}):\n${result.output}`);
  }
}
