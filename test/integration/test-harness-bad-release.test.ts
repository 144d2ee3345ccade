import { request } from 'undici';
import { startBackend, type BackendHandle } from '../../scripts/lib/backend-server';
import { buildStaticConfig } from '../../scripts/lib/traefik-process';

/**
 * The pieces the rollout e2e test and `npm run bench:rollback` build a bad release from: a test
 * backend whose error rate and latency the test sets while it runs, and a Traefik static
 * configuration with Prometheus metrics and service labels on an entryPoint of its own.
 */

async function get(backend: BackendHandle): Promise<{ status: number; ms: number; body: string }> {
  const start = Date.now();
  const res = await request(`${backend.url}/`);
  return { status: res.statusCode, body: await res.body.text(), ms: Date.now() - start };
}

describe('a test backend as a bad release', () => {
  let backend: BackendHandle | undefined;
  afterEach(async () => {
    await backend?.stop();
    backend = undefined;
  });

  it('when nothing is set, then every answer is a prompt 200 naming the backend', async () => {
    backend = await startBackend('canary');
    const answers = await Promise.all(Array.from({ length: 10 }, () => get(backend!)));
    expect(answers.map((a) => [a.status, a.body])).toEqual(
      Array.from({ length: 10 }, () => [200, '{"backend":"canary"}']),
    );
    expect([backend.requests(), backend.errors()]).toEqual([10, 0]);
    expect(backend.lastRequestAt()).toBeGreaterThan(0);
  });

  it('when the error rate is set to 0.4 while it runs, then exactly 2 of every 5 requests from then on answer 500', async () => {
    backend = await startBackend('canary');
    for (let i = 0; i < 3; i++) expect((await get(backend)).status).toBe(200);
    backend.set({ errorRate: 0.4 });
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await get(backend)).status);
    expect(statuses.filter((s) => s === 500)).toHaveLength(10);
    for (let i = 0; i < 25; i += 5) {
      expect(statuses.slice(i, i + 5).filter((s) => s === 500)).toHaveLength(2);
    }
    expect([backend.requests(), backend.errors()]).toEqual([28, 10]);
    backend.set({ errorRate: 0 });
    expect((await get(backend)).status).toBe(200);
  });

  it('when a delay is set, then answers come that much later, and setting 0 makes them prompt again', async () => {
    backend = await startBackend('slow', { delayMs: 300 });
    const slow = await get(backend);
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(290);
    backend.set({ delayMs: 0, errorRate: 1 });
    expect((await get(backend)).status).toBe(500);
  });

  it('when an error rate outside 0..1 is asked for, then it is refused with the value', async () => {
    backend = await startBackend('canary');
    expect(() => backend?.set({ errorRate: 1.5 })).toThrow(
      'errorRate must be between 0 and 1, got 1.5',
    );
    expect(() => backend?.set({ delayMs: -1 })).toThrow('delayMs must be >= 0, got -1');
  });
});

describe("the test Traefik's static configuration", () => {
  const options = { providerUrl: 'http://127.0.0.1:1/traefik' };

  it('when metrics are asked for, then Prometheus metrics with service labels are served on an entryPoint of their own', () => {
    const config = buildStaticConfig(
      { ...options, metrics: { buckets: [0.1, 0.7, 2] } },
      { web: 1001, api: 1002, metrics: 1003 },
      '/tmp/traefik.log',
    );
    expect((config.entryPoints as Record<string, { address: string }>).metrics.address).toBe(
      '127.0.0.1:1003',
    );
    expect(config.metrics).toEqual({
      prometheus: {
        entryPoint: 'metrics',
        addServicesLabels: true,
        addEntryPointsLabels: true,
        buckets: [0.1, 0.7, 2],
      },
    });
  });

  it('when metrics are not asked for, then there is no metrics block and no extra entryPoint', () => {
    const config = buildStaticConfig(options, { web: 1001, api: 1002 }, '/tmp/traefik.log');
    expect(config.metrics).toBeUndefined();
    expect(Object.keys(config.entryPoints as object).sort()).toEqual(['traefik', 'web']);
  });
});
