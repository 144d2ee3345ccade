import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { requireBinary } from '../../scripts/lib/child-process';
import { ROOT } from '../../scripts/lib/build-dist';

/** Every shell script of the kit is shellcheck-clean, strict, and answers --help. */

const SCRIPTS = [
  'scripts/canary-deploy.sh',
  'scripts/canary-scale.sh',
  'scripts/canary-rollback.sh',
  'scripts/test_smoke.sh',
  'scripts/test_live_cloud.sh',
];

describe('shell scripts', () => {
  beforeAll(() =>
    requireBinary('shellcheck', 'Install it (Debian/Ubuntu: apt-get install -y shellcheck).'),
  );

  it.each([...SCRIPTS, 'scripts/lib/common.sh', 'traefik/compose-entrypoint.sh'])(
    'when %s is checked, then shellcheck reports nothing',
    (script) => {
      const r = spawnSync('shellcheck', ['-x', '--severity=style', script], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    },
  );

  it.each(SCRIPTS)('when %s starts, then it is strict and executable', (script) => {
    const text = fs.readFileSync(path.join(ROOT, script), 'utf8');
    expect(text.split('\n')[0]).toBe('#!/usr/bin/env bash');
    expect(text).toMatch(/^set -euo pipefail$/m);
    expect(fs.statSync(path.join(ROOT, script)).mode & 0o111).not.toBe(0);
  });

  it.each(SCRIPTS)(
    'when %s is asked for --help, then it prints its usage and exits 0',
    (script) => {
      const r = spawnSync(path.join(ROOT, script), ['--help'], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect(r.stdout).toMatch(/^Usage: /);
      expect(r.stdout).toContain(path.basename(script));
      expect(r.status).toBe(0);
    },
  );

  it.each(SCRIPTS)('when %s gets an unknown option, then it names it and exits 64', (script) => {
    const r = spawnSync(path.join(ROOT, script), ['--no-such-option'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.stderr).toContain('--no-such-option');
    expect(r.status).toBe(64);
  });
});
