import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/build-dist';

/**
 * scripts/setup.sh --dry-run with a PATH made of links to chosen real tools: which tools are
 * missing, and the exact packages it would install for each kind of system. The script itself is
 * shellcheck-clean.
 */

const SETUP = path.join(ROOT, 'scripts/setup.sh');
const ALL_TOOLS = [
  'redis-server',
  'redis-cli',
  'redis-sentinel',
  'prometheus',
  'promtool',
  'amtool',
  'shellcheck',
  'chromium',
];

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A directory holding only the named tools (executable stand-ins: only their presence counts). */
function fakePath(tools: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-setup-path-'));
  dirs.push(dir);
  for (const tool of tools) {
    fs.writeFileSync(path.join(dir, tool), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  }
  return dir;
}

function dryRun(tools: string[], os: string): { status: number | null; lines: string[] } {
  const r = spawnSync('/bin/bash', [SETUP, '--dry-run'], {
    env: { PATH: fakePath(tools), SETUP_OS: os },
    encoding: 'utf8',
  });
  expect(r.stderr).toBe('');
  return { status: r.status, lines: r.stdout.trimEnd().split('\n') };
}

describe('scripts/setup.sh --dry-run', () => {
  it('when some tools are missing on Debian, then it names them and the exact apt-get packages', () => {
    const r = dryRun(['redis-server', 'prometheus', 'shellcheck', 'chromium'], 'debian');
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([
      'setup: system: debian',
      'setup: missing tools: redis-cli redis-sentinel promtool amtool',
      'setup: apt-get packages: redis-tools redis-sentinel prometheus prometheus-alertmanager',
    ]);
  });

  it('when prometheus and promtool are both missing, then the prometheus package is listed once', () => {
    const r = dryRun(
      ALL_TOOLS.filter((t) => t !== 'prometheus' && t !== 'promtool'),
      'debian',
    );
    expect(r.lines.slice(1)).toEqual([
      'setup: missing tools: prometheus promtool',
      'setup: apt-get packages: prometheus',
    ]);
  });

  it('when every tool is present, then there is nothing to install', () => {
    const r = dryRun(ALL_TOOLS, 'debian');
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([
      'setup: system: debian',
      'setup: system tools: all present, nothing to install',
    ]);
  });

  it('when Ubuntu names the browser chromium-browser, then it counts as present', () => {
    const r = dryRun([...ALL_TOOLS.filter((t) => t !== 'chromium'), 'chromium-browser'], 'debian');
    expect(r.lines[1]).toBe('setup: system tools: all present, nothing to install');
  });

  it('when CHROMIUM_BIN names no executable, then chromium is missing though one is on PATH', () => {
    const r = spawnSync('/bin/bash', [SETUP, '--dry-run'], {
      env: { PATH: fakePath(ALL_TOOLS), SETUP_OS: 'debian', CHROMIUM_BIN: '/nonexistent/chromium' },
      encoding: 'utf8',
    });
    expect(r.stdout.trimEnd().split('\n').slice(1)).toEqual([
      'setup: missing tools: chromium',
      'setup: apt-get packages: chromium',
    ]);
  });

  it('when on macOS, then the list is in brew package names', () => {
    const r = dryRun(['prometheus', 'promtool', 'chromium'], 'macos');
    expect(r.lines.slice(1)).toEqual([
      'setup: missing tools: redis-server redis-cli redis-sentinel amtool shellcheck',
      'setup: brew packages: redis alertmanager shellcheck',
    ]);
  });

  it('when the system has neither apt-get nor brew, then it prints the list to install by hand', () => {
    const r = dryRun(['redis-server', 'redis-cli', 'redis-sentinel'], 'other');
    expect(r.status).toBe(0);
    expect(r.lines.slice(1)).toEqual([
      'setup: missing tools: prometheus promtool amtool shellcheck chromium',
      'setup: no apt-get or brew here; install these yourself (Debian package names): ' +
        'prometheus prometheus-alertmanager shellcheck chromium',
    ]);
  });

  it('when given an unknown option, then it prints its usage and exits 2', () => {
    const r = spawnSync('/bin/bash', [SETUP, '--frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('usage: bash scripts/setup.sh [--dry-run]\n');
  });

  it('when shellcheck reads it, then it reports nothing', () => {
    const r = spawnSync('shellcheck', ['-x', '--severity=style', SETUP], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
