import { request } from 'undici';
import { sleep } from '../../scripts/lib/child-process';
import { startServiceOnSentinels, type ServiceOnSentinels } from '../helpers/service-on-sentinels';
import { waitUntil } from '../../scripts/lib/ports';
import { putWeights, retryUntilAccepted } from '../helpers/admin-api-request';

jest.setTimeout(90_000);

async function servedCanary(url: string): Promise<number | undefined> {
  const res = await request(`${url}/traefik`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  const config = (await res.body.json()) as {
    http: {
      services: Record<string, { weighted?: { services: { name: string; weight: number }[] } }>;
    };
  };
  return config.http.services.council.weighted?.services.find((s) => s.name === 'council-canary')
    ?.weight;
}

const setCanary = (url: string, canary: number): Promise<number> =>
  putWeights(url, 'council', { main: 100 - canary, canary }, 10_000);

async function historyIds(url: string): Promise<string[]> {
  const res = await request(`${url}/api/v1/splits/council/history?limit=100`);
  expect(res.statusCode).toBe(200);
  const body = (await res.body.json()) as { events: { id: string }[] };
  return body.events.map((e) => e.id);
}

describe('Sentinel mode against a real primary, replica and three Sentinels', () => {
  let sentinels: ServiceOnSentinels | undefined;
  beforeAll(async () => {
    sentinels = await startServiceOnSentinels('canary-test', {
      // No periodic re-read within the test: a redis-cli change can only arrive by change tracking.
      RESYNC_INTERVAL_MS: '60000',
    });
  });
  afterAll(async () => {
    await sentinels?.stop();
  });

  test('when the primary is SIGKILLed, then /traefik keeps answering, writes resume on the new primary, redis-cli changes there are seen, and replicated audit events remain', async () => {
    const { group, svc } = sentinels!;
    // Before: the service found the primary through the Sentinels.
    expect(await setCanary(svc.url, 10)).toBe(200);
    expect(await setCanary(svc.url, 20)).toBe(200);
    expect(await servedCanary(svc.url)).toBe(20);
    const before = await historyIds(svc.url);
    expect(before).toHaveLength(2);
    const eventsKey = `${svc.prefix}events:council`;
    expect(group.primary.cli('XLEN', eventsKey).trim()).toBe('2');
    await waitUntil(
      'the audit events to reach the replica',
      () => group.replica.cli('XLEN', eventsKey).trim() === '2',
    );

    // Steady polling of /traefik from now until the end.
    const statuses: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          const res = await request(`${svc.url}/traefik`, { headersTimeout: 5_000 });
          await res.body.text();
          statuses.push(res.statusCode);
        } catch {
          statuses.push(0);
        }
        await sleep(50);
      }
    })();

    const killedAt = Date.now();
    await group.primary.kill();

    const { status, attempts } = await retryUntilAccepted(
      () => setCanary(svc.url, 30),
      killedAt,
      45_000,
    );
    const failoverMs = Date.now() - killedAt;
    console.log(
      `Sentinel failover: first successful write ${failoverMs} ms after SIGKILL of the primary (${attempts} attempts); the Sentinels name port ${group.primaryPort()} (replica ${group.replica.port})`,
    );
    expect(status).toBe(200);
    expect(group.primaryPort()).toBe(group.replica.port);
    expect(group.replica.cli('HGET', `${svc.prefix}weights:council`, 'canary').trim()).toBe('30');
    expect(await servedCanary(svc.url)).toBe(30);

    // Change tracking follows the failover: edits by hand on the new primary are served.
    const weightsKey = `${svc.prefix}weights:council`;
    for (const [which, main, canary, timeoutMs] of [
      ['first', 60, 40, 15_000],
      ['second', 50, 50, 10_000],
    ] as const) {
      group.replica.cli('HSET', weightsKey, 'main', String(main), 'canary', String(canary));
      await waitUntil(
        `the ${which} redis-cli change on the new primary`,
        async () => (await servedCanary(svc.url)) === canary,
        timeoutMs,
        100,
      );
    }

    polling = false;
    await poller;
    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    // The audit stream kept what was replicated before the kill and goes on after it.
    const after = await historyIds(svc.url);
    expect(after).toEqual(expect.arrayContaining(before));
    expect(after.length).toBeGreaterThanOrEqual(before.length + 3);
  });
});
