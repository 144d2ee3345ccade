import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import YAML from 'yaml';
import { loadSplitsFile } from '../../src/config/splits';
import { createMetrics } from '../../src/metrics/metrics';
import type { TraefikCheck } from '../../src/config/rollout-plan-schema';
import { traefikCheckQueries } from '../../src/rollout/analysis/traefik-checks';
import { ROOT } from '../../scripts/lib/build-dist';

/**
 * The dashboard and the alert rules: the guide's panels and thresholds are there, and every PromQL
 * expression names only metrics that docs/metrics.md documents (which in turn must match what the
 * provider really exports).
 */

const DASHBOARD_FILE = path.join(ROOT, 'compose/grafana/dashboards/grafana-canary-dashboard.json');
const RULES_FILE = path.join(ROOT, 'compose/prometheus/alerts.yml');
const METRICS_DOC = path.join(ROOT, 'docs/metrics.md');

interface Threshold {
  color: string;
  value: number | null;
}
interface Target {
  expr: string;
  legendFormat?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  fieldConfig?: {
    defaults: {
      unit?: string;
      thresholds?: { mode: string; steps: Threshold[] };
      custom?: { thresholdsStyle?: { mode: string } };
    };
  };
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  annotations: { list: { expr?: string; name: string }[] };
  templating: { list: { name: string; type: string; query: unknown }[] };
}
interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
}

const dashboard = JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const rules = (
  YAML.parse(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: Rule[] }[] }
).groups.flatMap((g) => g.rules);
const rule = (name: string): Rule => {
  const found = rules.find((r) => r.alert === name);
  if (!found) throw new Error(`no alert rule ${name} in ${RULES_FILE}`);
  return found;
};
const panel = (title: string): Panel => {
  const found = dashboard.panels.find((p) => p.title === title);
  if (!found) throw new Error(`no panel "${title}" in ${DASHBOARD_FILE}`);
  return found;
};
const steps = (p: Panel): [string, number | null][] =>
  (p.fieldConfig?.defaults.thresholds?.steps ?? []).map((s) => [s.color, s.value]);

// ---------------------------------------------------------------------------------------------
// Metric names in PromQL, without a full parser: strip strings, label matchers, ranges, grouping
// clauses, numbers and Grafana variables; what is left and not followed by "(" is a metric name.

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

function metricNames(expr: string): string[] {
  const s = expr
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^{}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?\w+/g, ' ')
    .replace(/(^|[^A-Za-z0-9_:.])(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/g, '$1 ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = s.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names].sort();
}

/** `| \`name\` | type | ...` rows of docs/metrics.md, with the section ("## ...") each is under. */
function documentedMetrics(): Map<string, { type: string; section: string }> {
  const out = new Map<string, { type: string; section: string }>();
  let section = '';
  for (const line of fs.readFileSync(METRICS_DOC, 'utf8').split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) section = heading[1].trim();
    const row = /^\|\s*`([A-Za-z_:][A-Za-z0-9_:]*)`\s*\|\s*(\w+)\s*\|/.exec(line);
    if (row) out.set(row[1], { type: row[2], section });
  }
  return out;
}

function undocumented(names: string[], docs: Map<string, { type: string }>): string[] {
  return names.filter((name) => {
    if (docs.has(name)) return false;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return !(base !== name && ['histogram', 'summary'].includes(docs.get(base)?.type ?? ''));
  });
}

/** Every PromQL expression of the dashboard (panels, annotations, variables) and the rules. */
function allQueries(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of dashboard.panels)
    for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}"`, expr: t.expr });
  for (const a of dashboard.annotations.list)
    if (a.expr) out.push({ where: `annotation "${a.name}"`, expr: a.expr });
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query: string }).query;
    // label_values(metric, label): only the first argument is a metric.
    const lv = /^label_values\((.*),\s*\w+\)$/.exec(q);
    out.push({ where: `variable ${v.name}`, expr: lv ? lv[1] : q });
  }
  for (const r of rules) out.push({ where: `alert ${r.alert}`, expr: r.expr });
  return out;
}

describe('metric name extraction', () => {
  it('when given PromQL with functions, groupings, matchers and numbers, then it returns only metric names', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (variant, le) (rate(swarm_council_request_duration_seconds_bucket{split="$split"}[5m]))) > 0.7',
      ),
    ).toEqual(['swarm_council_request_duration_seconds_bucket']);
    expect(
      metricNames(
        'sum without (instance) (rate(a_total[1h] offset 5m)) * 86400 / on(x) group_left(y) b > bool 9.8e9 and absent(up{job="p"} == 1)',
      ),
    ).toEqual(['a_total', 'b', 'up']);
    expect(metricNames('max(x) by (le) - min(y{a=~"b.*"}[$__range])')).toEqual(['x', 'y']);
  });

  it('when a query names a metric that docs/metrics.md lacks, then it is reported', () => {
    const docs = documentedMetrics();
    expect(
      undocumented(
        metricNames('rate(swarm_made_up_total[5m]) / rate(mistral_tokens_total[5m])'),
        docs,
      ),
    ).toEqual(['swarm_made_up_total']);
    // A histogram's series are documented through the histogram; a counter's are not.
    expect(
      undocumented(
        ['swarm_provider_propagation_seconds_bucket', 'mistral_errors_total_bucket'],
        docs,
      ),
    ).toEqual(['mistral_errors_total_bucket']);
  });
});

describe('every query of the dashboard and the rules', () => {
  const queries = allQueries();

  it('when its metric names are extracted, then each is documented in docs/metrics.md', () => {
    const docs = documentedMetrics();
    expect(queries.length).toBeGreaterThan(25);
    const problems = queries.flatMap(({ where, expr }) => {
      const names = metricNames(expr);
      if (names.length === 0) return [`${where}: no metric name found in ${expr}`];
      return undocumented(names, docs).map((n) => `${where}: ${n}`);
    });
    expect(problems).toEqual([]);
  });

  it('when read, then the guide and council metrics it relies on are all used somewhere', () => {
    const used = new Set(queries.flatMap(({ expr }) => metricNames(expr)));
    for (const name of [
      'swarm_council_request_duration_seconds_bucket',
      'swarm_council_cost_dollars_total',
      'swarm_edge_high_risk_total',
      'swarm_edge_requests_total',
      'swarm_vram_used_bytes',
      'mistral_errors_total',
      'mistral_tokens_total',
      'swarm_canary_traffic_percentage',
      'swarm_rollback_events_total',
      'swarm_deployment_version',
    ]) {
      expect({ name, used: used.has(name) }).toEqual({ name, used: true });
    }
  });
});

describe('docs/metrics.md', () => {
  const docs = documentedMetrics();

  it('when it lists provider metrics, then they are exactly the ones the provider exports', async () => {
    const registry = new Registry();
    createMetrics(registry, 'swarm_');
    const exported = (await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]);
    const listed = [...docs]
      .filter(([, d]) => d.section === 'Provider metrics')
      .map(([name, d]) => [name, d.type]);
    expect(listed.sort()).toEqual(exported.sort());
  });

  it('when it lists rollout controller metrics, then the controller exports them', async () => {
    const file = path.join(ROOT, 'src/rollout/engine/rollout-metrics.ts');
    const listed = [...docs]
      .filter(([, d]) => d.section === 'Rollout controller metrics')
      .map(([name, d]) => [name, d.type]);
    expect(listed.length).toBeGreaterThan(0);
    // The controller lands in its own issue; until its metrics module exists there is nothing to
    // compare against.
    if (!fs.existsSync(file)) return;
    const mod = jest.requireActual<{
      createRolloutMetrics: (r: Registry, prefix: string) => unknown;
    }>(file);
    const registry = new Registry();
    mod.createRolloutMetrics(registry, 'swarm_');
    const exported = (await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]);
    expect(listed.sort()).toEqual(exported.sort());
  });

  it('when it documents the council contract, then each metric has the type the queries assume', () => {
    const council = Object.fromEntries(
      [...docs]
        .filter(([, d]) => d.section.startsWith('Council metrics'))
        .map(([n, d]) => [n, d.type]),
    );
    expect(council).toEqual({
      swarm_council_request_duration_seconds: 'histogram',
      swarm_council_cost_dollars_total: 'counter',
      swarm_edge_high_risk_total: 'counter',
      swarm_edge_requests_total: 'counter',
      swarm_vram_used_bytes: 'gauge',
      mistral_errors_total: 'counter',
      mistral_tokens_total: 'counter',
    });
  });
});

describe('the dashboard', () => {
  it("when opened, then the guide's four panels show their green bands and alert lines", () => {
    const bands: [string, string, [string, number | null][]][] = [
      [
        'Council p95 latency',
        's',
        [
          ['green', null],
          ['orange', 0.7],
          ['red', 1],
        ],
      ],
      [
        'Council cost/day',
        'currencyUSD',
        [
          ['green', null],
          ['red', 1],
        ],
      ],
      [
        'Edge high-risk ratio',
        'percentunit',
        [
          ['green', null],
          ['red', 0.1],
        ],
      ],
      [
        'VRAM usage',
        'decbytes',
        [
          ['green', null],
          ['orange', 9.8e9],
          ['red', 10.5e9],
        ],
      ],
    ];
    for (const [title, unit, thresholds] of bands) {
      const p = panel(title);
      expect(p.fieldConfig?.defaults.unit).toBe(unit);
      expect(steps(p)).toEqual(thresholds);
      expect(p.fieldConfig?.defaults.custom?.thresholdsStyle?.mode).toBe('line+area');
    }

    expect(panel('Council p95 latency').targets?.[0].expr).toMatch(/^histogram_quantile\(0\.95, /);
    const cost = panel('Council cost/day');
    expect(cost.targets?.some((t) => t.expr.includes('* 86400'))).toBe(true);
    expect(cost.targets?.some((t) => t.expr.includes('[1d]'))).toBe(true);
  });

  it('when opened, then it shows the canary share per backend and the rollback events', () => {
    const share = panel('Canary traffic % per backend');
    expect(share.fieldConfig?.defaults.unit).toBe('percent');
    expect(share.targets?.[0]).toMatchObject({
      expr: 'max by (backend) (swarm_canary_traffic_percentage{split="$split"})',
      legendFormat: '{{backend}}',
    });
    const rollbacks = panel('Rollback events');
    expect(rollbacks.targets?.[0].expr).toContain('swarm_rollback_events_total{split="$split"}');
    expect(rollbacks.targets?.[0].legendFormat).toBe('{{trigger}}');
  });

  it('when laid out, then panel ids are unique and no two panels overlap', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          const key = `${i},${j}`;
          expect({ cell: key, taken: cells.get(key) }).toEqual({ cell: key, taken: undefined });
          cells.set(key, p.title);
        }
    }
  });
});

describe('the alert rules', () => {
  it("when read, then each of the guide's alerts exists with the guide's threshold", () => {
    const threshold = (name: string) => /[><]=?\s*([0-9.e]+)\s*$/.exec(rule(name).expr.trim())?.[1];
    expect(threshold('CouncilLatencyHigh')).toBe('1');
    expect(threshold('CouncilLatencyAboveGreenBand')).toBe('0.7');
    expect(rule('CouncilLatencyAboveGreenBand').for).toBe('5m');
    expect(threshold('CloudBudgetExceeded')).toBe('1');
    expect(rule('CloudBudgetExceeded').expr).toContain('* 86400');
    expect(threshold('HighRiskSpike')).toBe('0.10');
    expect(threshold('VramAboveGreenBand')).toBe('9.8e9');
    expect(threshold('VramLoaderGuard')).toBe('10.5e9');
    expect(threshold('MistralErrorRatioHigh')).toBe('0.02');
  });

  it("when an alert is one of the guide's rollback conditions, then it says so in a label", () => {
    const rollback = rules.filter((r) => r.labels?.rollback === 'true').map((r) => r.alert);
    expect(rollback.sort()).toEqual(
      [
        'CouncilLatencyAboveGreenBand',
        'CloudBudgetExceeded',
        'VramAboveGreenBand',
        'MistralErrorRatioHigh',
      ].sort(),
    );
  });

  it('when an alert links the runbook, then the section exists in docs/runbook.md', () => {
    const runbook = fs.readFileSync(path.join(ROOT, 'docs/runbook.md'), 'utf8');
    const anchors = new Set(
      [...runbook.matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
        m[1]
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    const all = YAML.parse(fs.readFileSync(RULES_FILE, 'utf8')) as {
      groups: { rules: { alert: string; annotations: { runbook: string } }[] }[];
    };
    const links = all.groups.flatMap((g) => g.rules).map((r) => [r.alert, r.annotations.runbook]);
    expect(links.length).toBe(rules.length);
    for (const [alert, link] of links) {
      const [file, anchor] = link.replace('{{ $externalLabels.runbook_base }}/', '').split('#');
      expect({ alert, file, anchor: anchors.has(anchor) ? anchor : `missing #${anchor}` }).toEqual({
        alert,
        file: 'docs/runbook.md',
        anchor,
      });
    }
  });
});

describe('the rollback alerts and the example rollout plan', () => {
  const all = YAML.parse(fs.readFileSync(RULES_FILE, 'utf8')) as {
    groups: {
      rules: { alert: string; expr: string; for?: string; labels: Record<string, string> }[];
    }[];
  };
  const rollbackRules = all.groups.flatMap((g) => g.rules).filter((r) => r.labels.rollback);
  const plan = YAML.parse(
    fs.readFileSync(path.join(ROOT, 'src/rollout/example-plan.yaml'), 'utf8'),
  ) as { splits: { council: { rollout: { checks: { name: string; for?: string }[] } } } };
  const checkFor = new Map(
    plan.splits.council.rollout.checks.map((c) => [c.name, c.for ?? 'none'] as const),
  );

  it.each([
    ['CouncilLatencyAboveGreenBand', 'p95-latency'],
    ['VramAboveGreenBand', 'vram'],
    ['MistralErrorRatioHigh', 'mistral-error-ratio'],
    ['CloudBudgetExceeded', 'cost-per-request'],
  ])('when %s fires, then it waits as long as the plan check %s', (alert, check) => {
    const rule = rollbackRules.find((r) => r.alert === alert);
    expect(rule).toBeDefined();
    expect({ alert, for: rule?.for ?? 'none' }).toEqual({ alert, for: checkFor.get(check) });
  });

  it('when a rollback condition reads council metrics, then it reads the canary only', () => {
    for (const r of rollbackRules.filter((x) => x.alert !== 'CloudBudgetExceeded')) {
      const selectors =
        r.expr.match(/\b(swarm_council_\w+|swarm_vram_\w+|mistral_\w+)(\{[^}]*\})?/g) ?? [];
      expect(selectors.length).toBeGreaterThan(0);
      for (const s of selectors)
        expect({ alert: r.alert, s }).toEqual({
          alert: r.alert,
          s: expect.stringContaining('variant="canary"'),
        });
    }
  });
});

describe('canary against stable from Traefik’s metrics', () => {
  const saved = process.env.SLACK_WEBHOOK_URL;
  process.env.SLACK_WEBHOOK_URL = 'https://hooks.slack.example/services/T0/B0/abc';
  const plan = loadSplitsFile(path.join(ROOT, 'src/rollout/example-plan.yaml')).byName.get(
    'council',
  )?.rollout;
  if (saved === undefined) delete process.env.SLACK_WEBHOOK_URL;
  else process.env.SLACK_WEBHOOK_URL = saved;
  const builtIn = (name: string): TraefikCheck => {
    const c = plan?.checks.find((x) => x.name === name);
    if (c?.type !== 'traefik') throw new Error(`no built-in check ${name} in the example plan`);
    return c;
  };
  /** A built-in check's query for one service, grouped by service over the split's backends. */
  const perService = (check: TraefikCheck): string =>
    traefikCheckQueries(check, { canary: 'x@http', stable: 'y@http' })
      .canary.value.replace(/service="x@http"/g, 'service=~"$split-.+"')
      .replace(/sum\(/g, 'sum by (service) (')
      .replace('sum by (le)', 'sum by (service, le)');

  it('when the dashboard shows success rate and latency per backend, then they are the example plan’s built-in checks, with its bounds as lines', () => {
    const success = panel('Success rate per backend (Traefik)');
    expect(success.targets?.map((t) => [t.expr, t.legendFormat])).toEqual([
      [perService(builtIn('success-rate')), '{{service}}'],
    ]);
    expect(steps(success)).toEqual([
      ['red', null],
      ['green', builtIn('success-rate').min],
    ]);
    const latency = panel('p95 latency per backend (Traefik)');
    expect(latency.targets?.map((t) => [t.expr, t.legendFormat])).toEqual([
      [perService(builtIn('latency')), '{{service}} p95'],
    ]);
    expect(latency.fieldConfig?.defaults.unit).toBe('s');
    expect(steps(latency)).toEqual([
      ['green', null],
      ['red', (builtIn('latency').max ?? 0) / 1000],
    ]);
  });

  it('when the kit’s Traefik measures latency, then a histogram bucket ends at the latency check’s bound', () => {
    const traefik = YAML.parse(
      fs.readFileSync(path.join(ROOT, 'traefik/traefik.compose.yml'), 'utf8'),
    ) as { metrics: { prometheus: { addServicesLabels: boolean; buckets: number[] } } };
    expect(traefik.metrics.prometheus.addServicesLabels).toBe(true);
    expect(traefik.metrics.prometheus.buckets).toContain((builtIn('latency').max ?? 0) / 1000);
  });
});
