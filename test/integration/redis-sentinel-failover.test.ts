import { request } from 'undici';
import { startServiceUnderTest, ADMIN_TOKEN, type ServiceUnderTest } from '../helpers/service';
import { startSentinelGroup, type SentinelGroupHandle } from '../helpers/redis-sentinel-group';
import { waitUntil } from '../helpers/free-port';

jest.setTimeout(90_000);

const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

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

async function setCanary(url: string, canary: number): Promise<number> {
  const res = await request(`${url}/api/v1/splits/council/weights`, {
    method: 'PUT',
    headers: AUTH,
    body: JSON.stringify({ weights: { main: 100 - canary, canary } }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  await res.body.text();
  return res.statusCode;
}

async function historyIds(url: string): Promise<string[]> {
  const res = await request(`${url}/api/v1/splits/council/history?limit=100`);
  expect(res.statusCode).toBe(200);
  const body = (await res.body.json()) as { events: { id: string }[] };
  return body.events.map((e) => e.id);
}

describe('Sentinel mode against a real primary, replica and three Sentinels', () => {
  let group: SentinelGroupHandle;
  let svc: ServiceUnderTest;

  beforeAll(async () => {
    group = await startSentinelGroup('canary-test');
    svc = await startServiceUnderTest({
      redisUrl: '',
      env: {
        REDIS_SENTINELS: group.sentinels,
        REDIS_SENTINEL_NAME: group.name,
        // No periodic re-read within the test: a redis-cli change can only arrive by change tracking.
        RESYNC_INTERVAL_MS: '60000',
      },
    });
  });

  afterAll(async () => {
    await svc?.stop();
    await group?.stop();
  });

  test('when the primary is SIGKILLed, then /traefik keeps answering, writes resume on the new primary, redis-cli changes there are seen, and replicated audit events remain', async () => {
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
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const killedAt = Date.now();
    await group.primary.kill();

    let status = 0;
    let attempts = 0;
    while (Date.now() - killedAt < 45_000) {
      attempts++;
      status = await setCanary(svc.url, 30).catch(() => 0);
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
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
    group.replica.cli('HSET', weightsKey, 'main', '60', 'canary', '40');
    await waitUntil(
      'the first redis-cli change on the new primary',
      async () => (await servedCanary(svc.url)) === 40,
      15_000,
      100,
    );
    group.replica.cli('HSET', weightsKey, 'main', '50', 'canary', '50');
    await waitUntil(
      'the second redis-cli change on the new primary',
      async () => (await servedCanary(svc.url)) === 50,
      10_000,
      100,
    );

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
