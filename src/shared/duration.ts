const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
} as const;

export type DurationUnit = keyof typeof UNIT_MS;

/**
 * Which durations a place accepts. The default is the full grammar (Prometheus and Go:
 * `500ms`, `30s`, `5m`, `24h`, `1d`, `1h30m`, `1.5s`); a place that promises less narrows it.
 */
export interface DurationGrammar {
  /** The units allowed (default all: ms, s, m, h, d). */
  units?: readonly DurationUnit[];
  /** Whether several parts may follow each other, as in `1h30m` (default true). */
  compound?: boolean;
  /** Whether a number may have a fraction, as in `1.5s` (default true). */
  decimals?: boolean;
}

/**
 * `?wait=applied&timeout=`: whole milliseconds or seconds (`500ms`, `10s`), as the API documents;
 * canaryctl sends any other --wait duration converted to milliseconds.
 */
export const WAIT_TIMEOUT: DurationGrammar = {
  units: ['ms', 's'],
  compound: false,
  decimals: false,
};

/** One number and unit at a time; longer unit names first so that `ms` is not read as `m`. */
function partPattern(grammar: DurationGrammar): string {
  const units = [...(grammar.units ?? (Object.keys(UNIT_MS) as DurationUnit[]))].sort(
    (a, b) => b.length - a.length,
  );
  const number = grammar.decimals === false ? '\\d+' : '\\d+(?:\\.\\d+)?';
  return `(${number})(${units.join('|')})`;
}

/** The whole text a duration in `grammar` may be, as a pattern (for a contract's documentation). */
export function durationPattern(grammar: DurationGrammar = {}): RegExp {
  const part = partPattern(grammar);
  return new RegExp(grammar.compound === false ? `^${part}$` : `^(?:${part})+$`);
}

/** `GET /traefik?watch=25s`: one number (a fraction allowed) in ms, s or m. */
export const WATCH_DURATION: DurationGrammar = { units: ['ms', 's', 'm'], compound: false };

/**
 * Parses a duration in `grammar` (default: the full grammar). Returns milliseconds, rounded, or
 * undefined when the text is not a duration in that grammar.
 */
export function parseDuration(text: string, grammar: DurationGrammar = {}): number | undefined {
  if (!durationPattern(grammar).test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(new RegExp(partPattern(grammar), 'gy'))) {
    total += Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
  }
  return Math.round(total);
}

/** Formats milliseconds compactly for people: `1h30m`, `45s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  let rest = Math.round(Math.abs(ms));
  if (rest === 0) return '0s';
  if (rest < 1_000) return `${sign}${rest}ms`;
  rest = Math.round(rest / 1_000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return sign + parts.join('');
}
