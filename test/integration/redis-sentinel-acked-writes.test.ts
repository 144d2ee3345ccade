import { request } from 'undici';
import { startServiceOnSentinels, type ServiceOnSentinels } from '../helpers/service-on-sentinels';
import { ADMIN_JSON_HEADERS } from '../helpers/admin-api-request';
import { sleep } from '../../scripts/lib/child-process';

jest.setTimeout(120_000);

/** One write whose reason names it; its status, and its audit event id when acknowledged. */
async function write(
  url: string,
  seq: number,
): Promise<{ status: number; id?: string; title?: string }> {
  const canary = (seq % 99) + 1;
  try {
    const res = await request(`${url}/api/v1/splits/council/weights`, {
      method: 'PUT',
      headers: ADMIN_JSON_HEADERS,
      body: JSON.stringify({ weights: { main: 100 - canary, canary }, reason: `seq-${seq}` }),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const body = (await res.body.json()) as { event?: { id: string }; title?: string };
    return { status: res.statusCode, id: body.event?.id, title: body.title };
  } catch {
    return { status: 0 };
  }
}

describe('REDIS_WRITE_REPLICAS=1 through a Sentinel failover', () => {
  let sentinels: ServiceOnSentinels | undefined;
  beforeAll(async () => {
    sentinels = await startServiceOnSentinels('canary-acked', {
      REDIS_WRITE_REPLICAS: '1',
      REDIS_WRITE_TIMEOUT_MS: '1000',
    });
  });
  afterAll(async () => {
    await sentinels?.stop();
  });

  test('when the primary is SIGKILLed amid a stream of writes, then every write acknowledged before the kill is on the new primary, and later ones answer WRITE_NOT_REPLICATED', async () => {
    const { group, svc } = sentinels!;
    const acked = new Map<number, string>();
    const statuses: number[] = [];
    let seq = 0;
    let killedAt: number | undefined;
    let unreplicatedAfterKill = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && unreplicatedAfterKill < 5) {
      seq++;
      const sentAt = Date.now();
      const r = await write(svc.url, seq);
      statuses.push(r.status);
      if (r.status === 200 && r.id !== undefined) {
        // Only what was acknowledged before the kill is promised.
        if (killedAt === undefined || sentAt < killedAt) acked.set(seq, r.id);
      }
      // The new primary has no replica left: its writes stand but cannot be acknowledged.
      if (killedAt !== undefined && r.title === 'WRITE_NOT_REPLICATED') unreplicatedAfterKill++;
      if (killedAt === undefined && acked.size >= 25) {
        killedAt = Date.now();
        await group.primary.kill();
      }
      await sleep(killedAt === undefined ? 10 : 100);
    }
    expect(killedAt).toBeDefined();
    expect(unreplicatedAfterKill).toBe(5);
    expect(group.primaryPort()).toBe(group.replica.port);

    // What the new primary holds: the audit events of council, by reason.
    const eventsKey = `${svc.prefix}events:council`;
    const flat = group.replica.cli('XRANGE', eventsKey, '-', '+').split('\n');
    const reasons = new Set(flat.filter((line) => /^seq-\d+$/.test(line)));
    const missing = [...acked.keys()].filter((n) => !reasons.has(`seq-${n}`));
    console.log(
      `acknowledged writes: ${acked.size} before the kill, all compared; ${statuses.filter((s) => s !== 200).length} unacknowledged answers (${[...new Set(statuses)].join(', ')}) during the failover`,
    );
    expect(missing).toEqual([]);
    // And the API reads the same events back after the failover.
    const res = await request(`${svc.url}/api/v1/splits/council/history?limit=1000`);
    const body = (await res.body.json()) as { events: { id: string }[] };
    const ids = new Set(body.events.map((e) => e.id));
    expect([...acked.values()].filter((id) => !ids.has(id))).toEqual([]);
  });
});
