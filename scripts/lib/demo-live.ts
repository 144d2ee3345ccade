import { printable } from '../../src/cli/format';
import type { TrafficHandle } from './traffic';
import {
  newEventLines,
  renderPlain,
  renderScreen,
  type ViewCheck,
  type ViewEvent,
  type ViewRollout,
  type ViewState,
} from './demo-view';

type Json = Record<string, unknown>;

async function getJson(url: string): Promise<Json | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    const body = (await res.json()) as unknown;
    return res.ok && typeof body === 'object' && body !== null ? (body as Json) : undefined;
  } catch {
    return undefined;
  }
}

const isRecord = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
/** Service text (a reason may come from anyone's redis-cli), made safe for the terminal. */
const str = (v: unknown, fallback = ''): string =>
  typeof v === 'string' ? printable(v) : fallback;

function numbers(v: unknown): Record<string, number> | null {
  if (!isRecord(v)) return null;
  return Object.fromEntries(Object.entries(v).filter(([, n]) => typeof n === 'number')) as Record<
    string,
    number
  >;
}

/** The rollout view, read field by field: its shape may grow, and none at all is fine. */
export function toRollout(body: Json | undefined): ViewRollout | undefined {
  if (!body || typeof body.status !== 'string' || body.status === 'none') return undefined;
  const checks: ViewCheck[] = Array.isArray(body.checks)
    ? body.checks.filter(isRecord).map((c) => ({
        name: str(c.name, '?'),
        verdict: str(c.verdict, '?'),
        value: typeof c.value === 'number' || typeof c.value === 'string' ? c.value : null,
      }))
    : [];
  return { status: body.status, summary: str(body.summary), checks };
}

function toEvents(body: Json | undefined, limit: number): ViewEvent[] {
  const events = body && Array.isArray(body.events) ? body.events.filter(isRecord) : [];
  return events.slice(0, limit).map((e) => ({
    id: str(e.id),
    time: str(e.time),
    action: str(e.action),
    source: str(e.source),
    actor: str(e.actor),
    reason: str(e.reason),
    after: numbers(e.after),
  }));
}

/** Reads the split, its last events and its rollout from the service's API. */
export async function readState(
  serviceUrl: string,
  split: string,
  backends: string[],
  traffic: TrafficHandle | undefined,
): Promise<ViewState> {
  const base = `${serviceUrl}/api/v1/splits/${encodeURIComponent(split)}`;
  const [status, history, rollout] = await Promise.all([
    getJson(base),
    getJson(`${base}/history?limit=5`),
    getJson(`${base}/rollout`),
  ]);
  const weights = status && isRecord(status.weights) ? status.weights : undefined;
  return {
    split,
    backends,
    served: numbers(weights?.served),
    routed: traffic ? traffic.lastSecond() : {},
    events: toEvents(history, 5),
    rollout: toRollout(rollout),
  };
}

export interface LiveView {
  stop(): void;
  /** The last state read (for the tour's narration). */
  last(): ViewState | undefined;
}

/**
 * Redraws the view about once a second on a TTY (`header` stays on top); otherwise writes one plain
 * line per second, plus each new audit event once.
 */
export function startLiveView(options: {
  serviceUrl: string;
  split: string;
  backends: string[];
  traffic: TrafficHandle | undefined;
  tty: boolean;
  header: string[];
  write: (text: string) => void;
}): LiveView {
  const seen = new Set<string>();
  let last: ViewState | undefined;
  let stopped = false;
  const tick = async (): Promise<void> => {
    const state = await readState(
      options.serviceUrl,
      options.split,
      options.backends,
      options.traffic,
    );
    if (stopped) return;
    last = state;
    if (options.tty) {
      // Home, clear: one frame per second.
      options.write(`\x1b[H\x1b[2J${[...options.header, ...renderScreen(state)].join('\n')}\n`);
      return;
    }
    const lines = newEventLines(state.events, seen);
    options.write([...lines, renderPlain(state)].map((l) => `${l}\n`).join(''));
  };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void tick().finally(() => (running = false));
  }, 1_000);
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
    last: () => last,
  };
}
