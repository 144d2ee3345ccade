import http from 'node:http';
import { Registry } from 'prom-client';
import { closeServer, listenOnLoopback } from '../../scripts/lib/loopback-server';
import { metricDeclarer } from '../../src/metrics/metric-declarer';

export type Variant = 'main' | 'canary';

interface VariantLoad {
  /** Requests per second observed (0: none, the series stops moving). */
  rps: number;
  /** Latency each observed request takes, in seconds. */
  latency: number;
  /** Share of Mistral calls that fail, 0..1 (one call per request). */
  errorRatio: number;
  /** Dollars each request costs. */
  costPerRequest: number;
  /** VRAM in use, in bytes (the guide's line is 9.8e9). */
  vramBytes: number;
}

export interface MetricsAppHandle {
  /** `127.0.0.1:<port>`, a Prometheus scrape target. */
  target: string;
  url: string;
  set(variant: Variant, load: Partial<VariantLoad>): void;
  get(variant: Variant): VariantLoad;
  /** Text of /metrics now. */
  scrape(): Promise<string>;
  stop(): Promise<void>;
}

export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.7, 1, 2.5, 5];
const TICK_MS = 100;
const TOKENS_PER_REQUEST = 10;

/**
 * A stand-in for the council's exporter: it serves /metrics with the metric names the guide's
 * panels and the example plan use, each in its real unit: `swarm_council_request_duration_seconds`
 * (seconds), `mistral_requests_total` and `mistral_errors_total` (calls: one Mistral call per
 * request), `mistral_tokens_total` (tokens, 10 per call), `swarm_council_cost_dollars_total`
 * (dollars) and `swarm_vram_used_bytes` (bytes), all by `variant`. The test controls the traffic
 * per variant; nothing is random, so a test knows what Prometheus will compute.
 */
export async function startMetricsApp(
  initial: Partial<Record<Variant, Partial<VariantLoad>>> = {},
): Promise<MetricsAppHandle> {
  const registry = new Registry();
  const { counter, gauge, histogram } = metricDeclarer(registry, (name) => name);
  const variant = ['variant'] as const;
  const duration = histogram(
    'swarm_council_request_duration_seconds',
    'Council request latency.',
    LATENCY_BUCKETS,
    variant,
  );
  const errors = counter('mistral_errors_total', 'Mistral API errors.', variant);
  const tokens = counter('mistral_tokens_total', 'Mistral API tokens.', variant);
  const calls = counter('mistral_requests_total', 'Mistral API calls.', variant);
  const cost = counter('swarm_council_cost_dollars_total', 'Council spend in dollars.', variant);
  const vram = gauge('swarm_vram_used_bytes', 'VRAM in use.', variant);
  const defaults: VariantLoad = {
    rps: 50,
    latency: 0.2,
    errorRatio: 0,
    costPerRequest: 0.0001,
    vramBytes: 6e9,
  };
  const load: Record<Variant, VariantLoad> = {
    main: { ...defaults, ...initial.main },
    canary: { ...defaults, ...initial.canary },
  };
  // Failed calls carried from tick to tick, so the error count stays a whole number of calls.
  const errorCarry: Record<Variant, number> = { main: 0, canary: 0 };
  // Fractions of a request carried from tick to tick, so low rates stay exact over time.
  const carry: Record<Variant, number> = { main: 0, canary: 0 };

  const timer = setInterval(() => {
    for (const variant of ['main', 'canary'] as const) {
      const { rps, latency, errorRatio, costPerRequest, vramBytes } = load[variant];
      vram.set({ variant }, vramBytes);
      carry[variant] += (rps * TICK_MS) / 1000;
      const n = Math.floor(carry[variant]);
      carry[variant] -= n;
      for (let i = 0; i < n; i++) duration.observe({ variant }, latency);
      if (n > 0) {
        calls.inc({ variant }, n);
        tokens.inc({ variant }, n * TOKENS_PER_REQUEST);
        cost.inc({ variant }, n * costPerRequest);
        errorCarry[variant] += n * errorRatio;
        const failed = Math.floor(errorCarry[variant] + 1e-9);
        errorCarry[variant] -= failed;
        // An error series exists from the first failure only, as with a real exporter.
        if (failed > 0) errors.inc({ variant }, failed);
      }
    }
  }, TICK_MS);
  timer.unref();

  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void registry.metrics().then((text) => {
      res.writeHead(200, { 'Content-Type': registry.contentType });
      res.end(text);
    });
  });
  const { port, url } = await listenOnLoopback(server);

  return {
    target: `127.0.0.1:${port}`,
    url,
    set: (variant, change) => {
      load[variant] = { ...load[variant], ...change };
    },
    get: (variant) => ({ ...load[variant] }),
    scrape: () => registry.metrics(),
    stop: async () => {
      clearInterval(timer);
      await closeServer(server);
    },
  };
}
