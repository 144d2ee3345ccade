import { Agent, request } from 'undici';

/** Keep-alive connections to Traefik's entryPoint, shared by every load loop of a process. */
const agent = new Agent({ keepAliveTimeout: 10_000, connections: 16 });

/**
 * One request through Traefik: the name of the backend that answered (the test backends name
 * themselves), or `status N` / `error CODE` when the user would have seen a failure.
 */
export async function routeOnce(
  webUrl: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<string> {
  try {
    const res = await request(`${webUrl}/`, {
      dispatcher: agent,
      headers: { Host: host, ...headers },
      headersTimeout: 3_000,
      bodyTimeout: 3_000,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) return `status ${res.statusCode}`;
    return (JSON.parse(text) as { backend: string }).backend;
  } catch (err) {
    return `error ${(err as { code?: string }).code ?? (err as Error).message}`;
  }
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

/** Closes the shared keep-alive connections (at the end of a test file or a bench). */
export function closeTraffic(): Promise<void> {
  return agent.close();
}
