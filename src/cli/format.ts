import { z } from 'zod';
import { CliError } from './cli-error';
import { ExitCode } from './exit-codes';
import {
  rolloutCheckSchema,
  rolloutStatusSchema,
  splitCoreStatusSchema,
  traefikViewSchema,
  type AuditEvent,
  type SplitStatus,
  type WriteResult,
} from '../api-contract';

/** Parses an answer the CLI is about to print; a mismatch means client and service disagree. */
export function expectShape<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new CliError(
      `the service's answer is not ${what} as this canaryctl knows it (use --json to see it)`,
      ExitCode.FAILURE,
      {
        details: result.error.issues
          .slice(0, 5)
          .map((i) => `  ${i.path.join('.') || '(answer)'}: ${i.message}`),
      },
    );
  }
  return result.data;
}

/**
 * Text from the service as it may be printed to a terminal: control characters (escape
 * sequences, carriage returns, newlines), C1 controls and bidirectional overrides are shown as
 * `\xHH` / `\u{HHHH}` so that a reason or actor cannot rewrite the screen or fake a line.
 */
export function printable(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => {
      const code = c.charCodeAt(0);
      return code <= 0xff
        ? `\\x${code.toString(16).padStart(2, '0')}`
        : `\\u{${code.toString(16)}}`;
    },
  );
}

/**
 * Lays rows out in columns two spaces apart; columns listed in `right` are right-aligned
 * (numbers). Trailing blanks are trimmed.
 */
export function renderTable(
  header: string[],
  rows: string[][],
  right: ReadonlySet<number> = new Set(),
): string {
  rows = rows.map((r) => r.map(printable));
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    widths
      .map((w, c) => {
        const cell = cells[c] ?? '';
        return right.has(c) ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `25` → `25%`, `33.33` → `33.33%`. */
export function formatShare(share: number | undefined): string {
  return share === undefined ? '-' : `${Number(share.toFixed(2))}%`;
}

function yesNo(value: boolean | null): string {
  return value === null ? '-' : value ? 'yes' : 'no';
}

function compactJson(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const traefikViews = z.array(traefikViewSchema);

/** The facts of a status that the table shows; any other field is an extra fact. */
const STATUS_FIELDS = new Set(Object.keys(splitCoreStatusSchema.shape));

/** What `canaryctl rollout` prints of a rollout: an answer without it is printed as JSON. */
const rolloutViewSchema = rolloutStatusSchema
  .pick({ split: true, status: true, summary: true })
  .extend({
    checks: z
      .array(
        rolloutCheckSchema.pick({
          name: true,
          verdict: true,
          value: true,
          threshold: true,
          comparator: true,
          for: true,
          reason: true,
        }),
      )
      .optional(),
  });
const withSummary = z.looseObject({ summary: z.string() });

/**
 * A fact the service adds to a split's status: what each Traefik applied, a rollout's summary
 * line, or anything newer as compact JSON.
 */
export function formatExtra(split: string, key: string, value: unknown): string[] {
  const views = key === 'traefik' ? traefikViews.safeParse(value) : undefined;
  if (views?.success) {
    return views.data.map((v) => {
      const state = v.applied ? 'applied' : 'NOT applied';
      const since = v.since === null ? '' : ` since ${formatTime(v.since)}`;
      return `${split} traefik ${v.traefik}: ${state}${since}${v.error ? ` (${v.error})` : ''}`;
    });
  }
  const summarized = withSummary.safeParse(value);
  // A summary names its split already (a rollout's progress line).
  if (summarized.success) return [`${key} ${summarized.data.summary}`];
  return [`${split} ${key}: ${compactJson(value)}`];
}

/**
 * The status table: one row per backend, the split's facts on its first row; then, per split,
 * why its stored weights are invalid and any extra facts the service reports (rollout progress,
 * what Traefik applied).
 */
export function formatStatus(splits: SplitStatus[]): string {
  if (splits.length === 0) return 'no splits are declared';
  const rows: string[][] = [];
  for (const s of splits) {
    s.backends.forEach((b, i) => {
      const stored = s.weights.stored?.[b.name];
      const served = s.weights.served?.[b.name];
      rows.push([
        i === 0 ? s.name : '',
        b.name,
        b.name === s.stable ? 'stable' : b.name === s.canary ? 'canary' : '',
        b.version ?? '-',
        stored === undefined ? '-' : String(stored),
        served === undefined ? '-' : String(served),
        formatShare(s.shares?.[b.name]),
        i === 0 ? (s.source ?? '-') : '',
        i === 0 ? yesNo(s.valid) : '',
        i === 0 ? yesNo(s.stale) : '',
      ]);
    });
  }
  const out = [
    renderTable(
      [
        'SPLIT',
        'BACKEND',
        'ROLE',
        'VERSION',
        'STORED',
        'SERVED',
        'SHARE',
        'SOURCE',
        'VALID',
        'STALE',
      ],
      rows,
      new Set([4, 5, 6]),
    ),
  ];
  for (const s of splits) {
    if (s.valid === false) {
      out.push(
        `${s.name}: the weights stored in Redis are invalid; serving the ${s.source ?? 'last valid'} weights:`,
        ...s.problems.map((p) => `  - ${printable(p)}`),
      );
    }
    for (const [key, value] of Object.entries(s)) {
      if (!STATUS_FIELDS.has(key) && key !== 'event' && value !== undefined) {
        out.push(...formatExtra(s.name, key, value).map(printable));
      }
    }
  }
  if (splits.some((s) => s.stale)) {
    out.push(
      'warning: the service cannot read Redis; it serves its last good configuration (stale)',
    );
  }
  return out.join('\n');
}

/**
 * `canary=0->25 main=100->75`: each backend's weight by name, with its change when it changed.
 * Names are sorted: the audit event's JSON keeps no order.
 */
export function formatChange(before: AuditEvent['before'], after: AuditEvent['after']): string {
  if (after === null) return before === null ? '-' : `${formatWeights(before)} -> (none)`;
  const names = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after)])].sort();
  return names
    .map((name) => {
      const was = before?.[name];
      const now = after[name];
      if (now === undefined) return `${name}=${was}->(none)`;
      return was === undefined || was === now ? `${name}=${now}` : `${name}=${was}->${now}`;
    })
    .join(' ');
}

export function formatWeights(weights: Record<string, number>): string {
  return Object.keys(weights)
    .sort()
    .map((name) => `${name}=${weights[name]}`)
    .join(' ');
}

/** ISO time to the second, UTC: `2024-05-01 12:00:00Z`. */
export function formatTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** The audit trail, in the order the service gives it (newest first). */
export function formatHistory(split: string, events: AuditEvent[]): string {
  if (events.length === 0) return `no changes recorded for ${split}`;
  return renderTable(
    ['TIME', 'ACTION', 'SOURCE', 'ACTOR', 'WEIGHTS', 'REASON'],
    events.map((e) => [
      formatTime(e.time),
      e.action,
      e.source,
      e.actor,
      formatChange(e.before, e.after),
      e.reason,
    ]),
  );
}

/** What a write did, then the split's new state and the ETag to chain with --if-match. */
export function formatWriteResult(result: WriteResult): string {
  const e = result.event;
  return [
    printable(
      `${result.name}: ${e.action} ${formatChange(e.before, e.after)} (by ${e.actor} via ${e.source}, event ${e.id})`,
    ),
    formatStatus([result]),
    `etag: ${result.etag ?? '-'}`,
  ].join('\n');
}

/** A rollout: its summary line, then each check's last value and verdict. */
export function formatRollout(body: unknown): string {
  const parsed = rolloutViewSchema.safeParse(body);
  if (!parsed.success) return JSON.stringify(body, null, 2);
  const view = parsed.data;
  const checks = view.checks ?? [];
  if (checks.length === 0) return printable(view.summary);
  const value = (v: number | string | null): string => (v === null ? '-' : String(v));
  return [
    printable(view.summary),
    renderTable(
      ['CHECK', 'VERDICT', 'VALUE', 'THRESHOLD', 'FOR', 'REASON'],
      checks.map((c) => [
        c.name,
        c.verdict,
        value(c.value),
        `${c.comparator} ${value(c.threshold)}`,
        c.for,
        c.reason,
      ]),
    ),
  ].join('\n');
}
