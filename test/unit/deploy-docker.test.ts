import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/build-dist';

/** The Dockerfile and .dockerignore, read as text: no Docker engine runs on these machines. */

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  main: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

interface Stage {
  from: string;
  name?: string;
  instructions: { op: string; args: string }[];
}

/** Instructions per stage, with line continuations joined. */
function stages(text: string): Stage[] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const out: Stage[] = [];
  for (const line of logical) {
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      out.push({ from: m?.[1] ?? args, name: m?.[2], instructions: [] });
    } else if (out.length > 0) {
      out[out.length - 1].instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return out;
}

const dockerfile = stages(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const runs = (s: Stage) => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
const last = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op).pop()?.args;

describe('Dockerfile', () => {
  const build = dockerfile[0];
  const runtime = dockerfile[dockerfile.length - 1];

  it('when built, then a build stage and a separate runtime stage on Node 22 are used', () => {
    expect(dockerfile.map((s) => s.name)).toEqual(['build', 'runtime']);
    const image = fs
      .readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
      .match(/ARG NODE_IMAGE=(\S+)/)?.[1];
    // Node 20 is past its end of life.
    expect(image).toMatch(/^node:22-/);
  });

  it('when the image runs, then canaryctl is on the PATH, linked to the compiled CLI', () => {
    expect(runs(runtime)).toContain(
      'ln -s /app/dist/src/cli/canaryctl.js /usr/local/bin/canaryctl && chmod 755 dist/src/cli/canaryctl.js',
    );
    expect(pkg.bin.canaryctl).toBe('dist/src/cli/canaryctl.js');
    expect(fs.readFileSync(path.join(ROOT, 'src/cli/canaryctl.ts'), 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    );
  });

  it('when the build stage runs, then it installs with npm ci before it compiles with npm run build', () => {
    const commands = runs(build);
    const ci = commands.findIndex((c) => /^npm ci\b/.test(c) && !c.includes('--omit=dev'));
    const compile = commands.findIndex((c) => c === 'npm run build');
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(compile).toBeGreaterThan(ci);
    expect(pkg.scripts.build).toBeDefined();
  });

  it('when the runtime stage runs, then it has production dependencies only and the compiled output', () => {
    expect(runs(runtime).some((c) => /^npm ci --omit=dev\b/.test(c))).toBe(true);
    const copies = runtime.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=build /app/dist/src ./dist/src');
    // The operator page's files, found from dist/src/http/routes at ../../../../ui.
    expect(copies).toContain('ui ./ui');
    expect(runs(runtime).some((c) => c.includes('npm run build'))).toBe(false);
  });

  it('when the container runs, then it runs as a non-root user', () => {
    const user = last(runtime, 'USER');
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
  });

  it('when the container runs, then its command is the package main and it listens on all interfaces', () => {
    expect(JSON.parse(last(runtime, 'CMD') ?? 'null')).toEqual(['node', pkg.main]);
    expect(last(runtime, 'ENV')).toMatch(/HOST=0\.0\.0\.0/);
    expect(last(runtime, 'EXPOSE')).toBe('9500');
  });

  it('when Docker checks health, then it asks GET /health on the service port', () => {
    const check = last(runtime, 'HEALTHCHECK') ?? '';
    expect(check).toMatch(/--interval=\d+s/);
    expect(check).toMatch(/CMD \["node", "-e", ".*\/health.*"\]/);
    expect(check).toContain('process.env.PORT');
  });
});

describe('.dockerignore', () => {
  it('when the context is sent, then secrets, dependencies and build output stay out', () => {
    const lines = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(lines).toEqual(
      expect.arrayContaining(['.git', 'node_modules', 'dist', '.env', '**/.env', '**/canary.env']),
    );
    // What the build needs must not be ignored.
    for (const needed of ['src', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      expect(lines).not.toContain(needed);
    }
  });
});
