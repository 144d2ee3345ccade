import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

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
 * The sources under `dirs` (folders or files relative to the root, e.g. ['src']) whose output in dist/ is missing or older: compiled
 * `.ts` files and the `.lua` scripts the build copies as they are.
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
 * Runs `npm run build` (what the bench, the demo and the Dockerfile run): whether it succeeded
 * within `timeoutMs`, and its output.
 */
export function buildDist(timeoutMs = 120_000): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'build', '--silent'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, output: code === 0 ? output : `${output}\n(${code ?? signal})` });
    });
  });
}
