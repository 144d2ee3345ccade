import { Agent, request } from 'undici';

export interface TrafficHandle {
  /** Answers per backend (`error` for non-200s and failures) in the last full second. */
  lastSecond(): Record<string, number>;
  /** Requests sent since the start. */
  total(): number;
  stop(): Promise<void>;
}

/**
 * A bounded traffic generator: `concurrency` loops send GET requests with the given Host header
 * through Traefik, together at most `ratePerSecond`, and count who answered (the `X-Backend`
 * header) in one-second buckets.
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
      try {
        const res = await request(`${url}/`, {
          dispatcher: agent,
          headers: { Host: host },
          headersTimeout: 2_000,
          bodyTimeout: 2_000,
        });
        await res.body.arrayBuffer();
        const backend = res.headers['x-backend'];
        count(res.statusCode === 200 && typeof backend === 'string' ? backend : 'error');
      } catch {
        count('error');
      }
      const wait = gap - (Date.now() - started);
      if (wait > 0 && !stopped) await new Promise((r) => setTimeout(r, wait));
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
