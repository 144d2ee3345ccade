import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/build-dist';

/**
 * The jest globalSetup that checks external tools: the lookup itself with chosen PATHs, and a real
 * jest run on a PATH that lacks tools, which must stop before any test with one message.
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { missingTools, missingMessage } = require('../global-setup.js') as {
  missingTools(projects: string[], env: NodeJS.ProcessEnv): string[];
  missingMessage(missing: string[], env: NodeJS.ProcessEnv): string;
};

const GO_FALLBACK_EXISTS = fs.existsSync('/usr/local/go/bin/go');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A PATH directory with links to the real tools named (node always, to run jest). */
function fakePath(tools: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-global-setup-'));
  dirs.push(dir);
  for (const tool of ['node', ...tools]) {
    const real = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (!real) throw new Error(`${tool} is not on this machine's PATH`);
    fs.symlinkSync(real, path.join(dir, tool));
  }
  return dir;
}

describe('jest global setup: external tools', () => {
  it('when the unit suites run, then they need no external tool', () => {
    expect(missingTools(['unit'], { PATH: fakePath([]) })).toEqual([]);
  });

  it('when CHROMIUM_BIN is not an executable, then e2e reports chromium', () => {
    const env = {
      PATH: fakePath(['redis-server', 'redis-cli']),
      TRAEFIK_BIN: process.execPath,
      CHROMIUM_BIN: '/nonexistent/chromium',
    };
    expect(missingTools(['e2e'], env)).toEqual(['chromium']);
  });

  it('when integration tools are missing, then all of them are named, in one list', () => {
    const env = { PATH: fakePath(['redis-server', 'shellcheck']) };
    expect(missingTools(['unit', 'integration'], env)).toEqual([
      'redis-cli',
      'prometheus',
      'promtool',
      ...(GO_FALLBACK_EXISTS ? [] : ['go']),
    ]);
  });

  it('when TRAEFIK_BIN is not an executable, then e2e reports traefik and why', () => {
    const env = {
      PATH: fakePath(['redis-server', 'redis-cli']),
      TRAEFIK_BIN: '/nonexistent/tr',
      CHROMIUM_BIN: process.execPath,
    };
    const missing = missingTools(['e2e'], env);
    expect(missing).toEqual(['traefik']);
    expect(missingMessage(missing, env)).toBe(
      'Missing on this machine: traefik.\n' +
        '(TRAEFIK_BIN=/nonexistent/tr is not an executable file.)\n' +
        'Install everything the tests need with: bash scripts/setup.sh',
    );
  });

  it('when jest runs integration suites on a PATH lacking tools, then it stops with one message', () => {
    const env = {
      PATH: fakePath(['redis-server', 'redis-cli']),
      HOME: os.tmpdir(),
    };
    const r = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/jest/bin/jest.js'),
        '--selectProjects',
        'unit',
        'integration',
        '--ci',
        'test/integration/openapi.test.ts',
      ],
      { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 },
    );
    const out = r.stdout + r.stderr;
    expect(r.status).not.toBe(0);
    const expected = [
      'prometheus',
      'promtool',
      'shellcheck',
      ...(GO_FALLBACK_EXISTS ? [] : ['go']),
    ];
    expect(out).toContain(`Missing on this machine: ${expected.join(', ')}.`);
    expect(out.split('Missing on this machine').length - 1).toBe(1);
    expect(out).toContain('bash scripts/setup.sh');
    // Stopped before any suite ran.
    expect(out).not.toMatch(/PASS|FAIL/);
  });
});
