import { Agent, request } from 'undici';
import { sleep } from './child-process';

/** Keep-alive connections to Traefik's entryPoint, shared by every load loop of a process. */
const agent = new Agent({ keepAliveTimeout: 10_000, connections: 16 });

/** Who answered one request: the backend that named itself, or what the user saw instead. */
type Answer = { backend: string } | { failure: string };

async function ask(
  webUrl: string,
  host: string,
  headers: Record<string, string>,
  dispatcher: Agent,
  timeoutMs: number,
): Promise<Answer> {
  try {
    const res = await request(`${webUrl}/`, {
      dispatcher,
      headers: { Host: host, ...headers },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { failure: `status ${res.statusCode}` };
    return { backend: (JSON.parse(text) as { backend: string }).backend };
  } catch (err) {
    return { failure: `error ${(err as { code?: string }).code ?? (err as Error).message}` };
  }
}

/**
 * One request through Traefik: the name of the backend that answered (the test backends name
 * themselves), or `status N` / `error CODE` when the user would have seen a failure.
 */
export async function routeOnce(
  webUrl: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const answer = await ask(webUrl, host, headers, agent, 3_000);
  return 'backend' in answer ? answer.backend : answer.failure;
}

export interface Tally {
  total: number;
  /** Answers that were not from one of `backends`. */
  failed: number;
  byAnswer: Record<string, number>;
}

export interface SteadyLoad {
  /** Counts so far (live). */
  tally: Tally;
  /** A copy of the counts now, to subtract from a later one. */
  snapshot(): Tally;
  stop(): Promise<Tally>;
}

/** `later - earlier`, for the requests of one window. */
export function windowOf(later: Tally, earlier: Tally): { total: number; failed: number } {
  return { total: later.total - earlier.total, failed: later.failed - earlier.failed };
}

/**
 * Steady load on one host: `workers` loops, each sending one request at a time, until stopped,
 * `limitMs` passes or 200,000 requests were sent, whichever comes first.
 */
export function steadyLoad(
  webUrl: string,
  host: string,
  options: { workers?: number; limitMs?: number; backends?: readonly string[] } = {},
): SteadyLoad {
  const backends = new Set(options.backends ?? ['main', 'canary']);
  const tally: Tally = { total: 0, failed: 0, byAnswer: {} };
  const deadline = Date.now() + (options.limitMs ?? 60_000);
  let running = true;
  const loops = Array.from({ length: options.workers ?? 2 }, async () => {
    while (running && Date.now() < deadline && tally.total < 200_000) {
      const answer = await routeOnce(webUrl, host);
      tally.total += 1;
      tally.byAnswer[answer] = (tally.byAnswer[answer] ?? 0) + 1;
      if (!backends.has(answer)) tally.failed += 1;
    }
  });
  return {
    tally,
    snapshot: () => ({ ...tally, byAnswer: { ...tally.byAnswer } }),
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return tally;
    },
  };
}

/** The share of `backend` among `n` plain requests, sent one at a time. */
export async function shareOf(
  webUrl: string,
  host: string,
  backend: string,
  n = 200,
): Promise<number> {
  let count = 0;
  for (let i = 0; i < n; i++) if ((await routeOnce(webUrl, host)) === backend) count += 1;
  return count / n;
}

export interface TrafficHandle {
  /** Answers per backend (`error` for non-200s and failures) in the last full second. */
  lastSecond(): Record<string, number>;
  /** Requests sent since the start. */
  total(): number;
  stop(): Promise<void>;
}

/**
 * Paced traffic for a person to watch (the demo): `concurrency` loops send GET requests with the
 * given Host header through Traefik, together at most `ratePerSecond`, and count who answered in
 * one-second buckets (`error` for every failure), on connections of their own.
 */
export function startTraffic(
  url: string,
  host: string,
  options: { concurrency?: number; ratePerSecond?: number } = {},
): TrafficHandle {
  const concurrency = options.concurrency ?? 4;
  const rate = options.ratePerSecond ?? 50;
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 10_000 });
  const buckets = new Map<number, Record<string, number>>();
  let stopped = false;
  let sent = 0;

  const count = (who: string): void => {
    const second = Math.floor(Date.now() / 1000);
    const bucket = buckets.get(second) ?? {};
    bucket[who] = (bucket[who] ?? 0) + 1;
    buckets.set(second, bucket);
    for (const key of buckets.keys()) if (key < second - 5) buckets.delete(key);
  };

  const gap = (1000 * concurrency) / rate;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const started = Date.now();
      sent += 1;
      const answer = await ask(url, host, {}, agent, 2_000);
      count('backend' in answer ? answer.backend : 'error');
      const wait = gap - (Date.now() - started);
      if (wait > 0 && !stopped) await sleep(wait);
    }
  };
  const loops = Array.from({ length: concurrency }, () => loop());

  return {
    lastSecond: () => ({ ...(buckets.get(Math.floor(Date.now() / 1000) - 1) ?? {}) }),
    total: () => sent,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      await agent.close();
    },
  };
}

/** Closes the shared keep-alive connections (at the end of a test file or a bench). */
export function closeTraffic(): Promise<void> {
  return agent.close();
}
