import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT } from '../../scripts/lib/build-dist';

/**
 * Prometheus's own checker on the kit: the configuration and rules load, the rule unit tests pass,
 * each threshold is pinned by those tests, and every dashboard query is valid PromQL.
 * Needs `promtool` (Debian: apt-get install -y prometheus).
 */

const PROM_DIR = path.join(ROOT, 'compose/prometheus');
const DASHBOARD_FILE = path.join(ROOT, 'compose/grafana/dashboards/grafana-canary-dashboard.json');

function promtool(...args: string[]): { status: number | null; output: string } {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new Error(
      'promtool is not on PATH. Install it (Debian/Ubuntu: apt-get install -y prometheus).',
    );
  }
  const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-promtool-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('promtool on compose/prometheus', () => {
  it('when the configuration is checked, then it and its rule file are valid', () => {
    const r = promtool('check', 'config', path.join(PROM_DIR, 'prometheus.yml'));
    expect(r.output).toContain('SUCCESS: 1 rule files found');
    expect(r.status).toBe(0);
  });

  it('when the rules are checked, then all 13 load', () => {
    const r = promtool('check', 'rules', path.join(PROM_DIR, 'alerts.yml'));
    expect(r.output).toContain('SUCCESS: 13 rules found');
    expect(r.status).toBe(0);
  });

  it('when the rule unit tests run, then every alert fires just above its threshold and not below', () => {
    const r = promtool('test', 'rules', path.join(PROM_DIR, 'alerts.test.yml'));
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  // Each guide threshold, moved a little: the unit tests must notice, or they pin nothing.
  it.each([
    ['CouncilLatencyHigh at 1 s', ') > 1\n', ') > 1.2\n'],
    ['the 0.7 s green band', ') > 0.7\n', ') > 0.76\n'],
    ['the $1/day budget', '* 86400 > 1\n', '* 86400 > 1.2\n'],
    ['the 10 % high-risk ratio', '> 0.10\n', '> 0.12\n'],
    ['the 9.8 GB VRAM band', '> 9.8e9\n', '> 10e9\n'],
    ['the 10.5 GB loader guard', '> 10.5e9\n', '> 10.7e9\n'],
    ['the 2 % error ratio', '> 0.02\n', '> 0.022\n'],
  ])('when %s moves, then the rule unit tests fail', (_what, from, to) => {
    const rules = fs.readFileSync(path.join(PROM_DIR, 'alerts.yml'), 'utf8');
    expect(rules.split(from).length - 1).toBe(1);
    const dir = fs.mkdtempSync(path.join(tmp, 'mutant-'));
    fs.writeFileSync(path.join(dir, 'alerts.yml'), rules.replace(from, to));
    fs.copyFileSync(path.join(PROM_DIR, 'alerts.test.yml'), path.join(dir, 'alerts.test.yml'));
    const r = promtool('test', 'rules', path.join(dir, 'alerts.test.yml'));
    expect(r.output).toContain('FAILED');
    expect(r.status).not.toBe(0);
  });

  it('when every dashboard query is loaded as a recording rule, then promtool parses them all', () => {
    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as {
      panels: { targets?: { expr: string }[] }[];
      annotations: { list: { expr?: string }[] };
    };
    const exprs = [
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      ...dashboard.annotations.list.flatMap((a) => (a.expr ? [a.expr] : [])),
    ].map((e) =>
      // Grafana's variables, as Grafana would substitute them.
      e
        .replace(/\$__range\b/g, '6h')
        .replace(/\$__rate_interval\b/g, '1m')
        .replace(/\$split\b/g, 'council'),
    );
    expect(exprs.length).toBeGreaterThan(20);
    const file = path.join(tmp, 'dashboard-queries.yml');
    fs.writeFileSync(
      file,
      JSON.stringify({
        groups: [
          {
            name: 'dashboard',
            rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })),
          },
        ],
      }),
    );
    const r = promtool('check', 'rules', file);
    expect(r.output).toContain(`SUCCESS: ${exprs.length} rules found`);
    expect(r.status).toBe(0);
  });
});

describe('amtool on compose/alertmanager', () => {
  it('when the Alertmanager configuration is checked, then it loads with its Slack receiver', () => {
    const found = spawnSync('sh', ['-c', 'command -v amtool'], { encoding: 'utf8' });
    if (found.status !== 0) {
      throw new Error(
        'amtool is not on PATH. Install it (Debian/Ubuntu: apt-get install -y prometheus-alertmanager).',
      );
    }
    const file = path.join(ROOT, 'compose/alertmanager/alertmanager.yml');
    const r = spawnSync('amtool', ['check-config', file], { encoding: 'utf8', timeout: 30_000 });
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
    expect(`${r.stdout}${r.stderr}`).toContain('1 receivers');
    expect(r.status).toBe(0);
    const config = YAML.parse(fs.readFileSync(file, 'utf8')) as {
      receivers: { name: string; slack_configs?: { api_url_file?: string }[] }[];
    };
    expect(config.receivers[0].slack_configs?.[0].api_url_file).toBe(
      '/alertmanager/slack_webhook_url',
    );
  });

  it('when Prometheus is configured, then it sends its alerts to the stack Alertmanager', () => {
    const config = YAML.parse(fs.readFileSync(path.join(PROM_DIR, 'prometheus.yml'), 'utf8')) as {
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    };
    expect(config.alerting.alertmanagers[0].static_configs[0].targets).toEqual([
      'alertmanager:9093',
    ]);
  });
});
