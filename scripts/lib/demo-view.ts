/**
 * The demo's live view, as pure functions of what the demo last read: per backend the weight the
 * service serves and the share Traefik actually routed in the last second, as bars; the rollout's
 * progress when one runs; the last audit events. `renderScreen` is the TTY frame (redrawn about
 * once a second); `renderPlain` and `newEventLines` are the lines written when stdout is not a TTY.
 */

export interface ViewEvent {
  id: string;
  time: string;
  action: string;
  source: string;
  actor?: string;
  reason?: string;
  after: Record<string, number> | null;
}

export interface ViewCheck {
  name: string;
  verdict: string;
  value: number | string | null;
}

export interface ViewRollout {
  status: string;
  summary: string;
  checks: ViewCheck[];
}

export interface ViewState {
  split: string;
  /** The split's backends, in a stable order. */
  backends: string[];
  /** Weights the service serves (null when unknown). */
  served: Record<string, number> | null;
  /** Answers per backend in the last second; `error` counts failed requests. */
  routed: Record<string, number>;
  events: ViewEvent[];
  rollout?: ViewRollout;
}

/** Whole percentages of `values`, by key; empty when they sum to 0. */
export function percentages(values: Record<string, number>): Record<string, number> {
  const total = Object.values(values).reduce((a, b) => a + b, 0);
  if (total <= 0) return {};
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, Math.round((100 * v) / total)]),
  );
}

/** A bar of `width` cells for a percentage (0..100). */
export function bar(percent: number, width = 20): string {
  const full = Math.round((Math.min(100, Math.max(0, percent)) / 100) * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

function weightsText(weights: Record<string, number> | null): string {
  if (!weights) return '-';
  return Object.entries(weights)
    .map(([k, v]) => `${k} ${v}`)
    .join(' / ');
}

/** One line per audit event, e.g. `23:05:01  scale (api, canaryctl)  main 75 / canary 25`. */
export function eventLine(e: ViewEvent): string {
  const time = e.time.length >= 19 ? e.time.slice(11, 19) : e.time;
  const who = e.actor ? `${e.source}, ${e.actor}` : e.source;
  const reason = e.reason ? `  "${e.reason}"` : '';
  return `${time}  ${e.action} (${who})  ${weightsText(e.after)}${reason}`;
}

function checkText(c: ViewCheck): string {
  const value = typeof c.value === 'number' ? Number(c.value.toPrecision(3)) : (c.value ?? '-');
  return `${c.name} ${value} ${c.verdict}`;
}

function routedTotal(state: ViewState): number {
  return state.backends.reduce((n, b) => n + (state.routed[b] ?? 0), 0) + (state.routed.error ?? 0);
}

/** The TTY frame. */
export function renderScreen(state: ViewState): string[] {
  const served = percentages(state.served ?? {});
  const total = routedTotal(state);
  const share = (n: number): number => (total > 0 ? Math.round((100 * n) / total) : 0);
  const nameWidth = Math.max(6, ...state.backends.map((b) => b.length));
  const lines = [
    `${state.split.padEnd(nameWidth + 2)}  weight served              routed by Traefik, last second (${total} requests)`,
  ];
  const rows = [...state.backends, ...(state.routed.error ? ['error'] : [])];
  for (const b of rows) {
    const s = served[b];
    const r = share(state.routed[b] ?? 0);
    const servedCell =
      b === 'error' ? ' '.repeat(27) : `${String(s ?? 0).padStart(3)} % ${bar(s ?? 0)}`;
    lines.push(
      `  ${b.padEnd(nameWidth)}  ${servedCell}   ${String(r).padStart(3)} % ${bar(r)} ${state.routed[b] ?? 0}`,
    );
  }
  if (state.rollout) {
    lines.push('', `rollout  ${state.rollout.status}: ${state.rollout.summary}`);
    for (const c of state.rollout.checks) lines.push(`  check ${checkText(c)}`);
  }
  lines.push('', 'last events');
  if (state.events.length === 0) lines.push('  (none yet)');
  for (const e of state.events) lines.push(`  ${eventLine(e)}`);
  return lines;
}

/**
 * The plain line for one second, e.g.
 * `live council: main served=95% routed=94% (47); canary served=5% routed=6% (3); error=0`.
 */
export function renderPlain(state: ViewState): string {
  const served = percentages(state.served ?? {});
  const total = routedTotal(state);
  const cells = state.backends.map((b) => {
    const n = state.routed[b] ?? 0;
    const r = total > 0 ? Math.round((100 * n) / total) : 0;
    return `${b} served=${served[b] ?? 0}% routed=${r}% (${n})`;
  });
  const rollout = state.rollout
    ? ` | rollout ${state.rollout.status}: ${state.rollout.summary}` +
      state.rollout.checks.map((c) => ` [${checkText(c)}]`).join('')
    : '';
  return `live ${state.split}: ${cells.join('; ')}; error=${state.routed.error ?? 0}${rollout}`;
}

/** Lines for the events not printed before (oldest first); marks them as printed in `seen`. */
export function newEventLines(events: ViewEvent[], seen: Set<string>): string[] {
  const fresh = events.filter((e) => !seen.has(e.id)).reverse();
  for (const e of fresh) seen.add(e.id);
  return fresh.map((e) => `event ${eventLine(e)}`);
}
