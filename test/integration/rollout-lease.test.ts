import { parseSplitsDocument } from '../../src/config/splits';
import { sleep } from '../../scripts/lib/child-process';
import { createLogger } from '../../src/log/logger';
import { Lease } from '../../src/rollout/engine/lease';
import { RolloutStateStore } from '../../src/rollout/plan/rollout-state-store';
import { createKeys } from '../../src/store/keys';
import { WeightsStore } from '../../src/store/weights-store';
import { rolloutLeaseKey } from '../../src/rollout/engine/lease-key';
import { rolloutStateOf as stateOf } from '../helpers/rollout-state';
import { uniquePrefix } from '../../scripts/lib/redis-process';
import { useRedisServer } from '../helpers/redis-under-test';
import { councilSplit } from '../helpers/splits-fixtures';

const splits = parseSplitsDocument(
  {
    splits: {
      council: councilSplit(),
    },
  },
  'test splits',
);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
  return 'resolved';
}

describe('rollout lease, fencing and state store on a real redis-server', () => {
  const ctx = useRedisServer();
  let prefix: string;
  let keys: ReturnType<typeof createKeys>;

  beforeEach(() => {
    prefix = uniquePrefix('lease');
    keys = createKeys(prefix);
  });
  afterEach(async () => {
    const own = await ctx.redis.keys(`${prefix}*`);
    if (own.length > 0) await ctx.redis.del(...own);
  });

  const lease = (identity: string, ttlMs = 1_000) =>
    new Lease({ redis: ctx.redis, key: rolloutLeaseKey(prefix), identity, ttlMs });

  test('when two replicas compete, then exactly one holds the lease and its token names it', async () => {
    const a = lease('replica-a');
    const b = lease('replica-b');
    const results = await Promise.all([a.acquireOrRenew(), b.acquireOrRenew()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results[0] ? a : b;
    expect(await ctx.redis.get(rolloutLeaseKey(prefix))).toBe(winner.token);
    expect(winner.token).toMatch(/^replica-[ab]\/[0-9a-f-]{36}$/);
    // Renewing keeps the same token and pushes the expiry out again.
    const token = winner.token;
    expect(await winner.acquireOrRenew()).toBe(true);
    expect(winner.token).toBe(token);
    expect(await ctx.redis.pttl(rolloutLeaseKey(prefix))).toBeGreaterThan(900);
  });

  test('when the holder releases, then the other acquires at once; release never deletes another’s lease', async () => {
    const a = lease('replica-a');
    const b = lease('replica-b');
    expect(await a.acquireOrRenew()).toBe(true);
    expect(await b.acquireOrRenew()).toBe(false);
    await a.release();
    expect(a.isHeld()).toBe(false);
    expect(await b.acquireOrRenew()).toBe(true);
    await a.release();
    expect(await ctx.redis.get(rolloutLeaseKey(prefix))).toBe(b.token);
  });

  test('when the holder stops renewing, then the lease expires and another replica takes it', async () => {
    const a = lease('replica-a', 300);
    const b = lease('replica-b', 300);
    expect(await a.acquireOrRenew()).toBe(true);
    expect(await b.acquireOrRenew()).toBe(false);
    await sleep(400);
    expect(a.isHeld()).toBe(false);
    expect(await b.acquireOrRenew()).toBe(true);
    // The old holder finds out on its next renewal.
    expect(await a.acquireOrRenew()).toBe(false);
    expect(a.token).toBeUndefined();
  });

  describe('fencing', () => {
    test('when a replica lost the lease, then its weights write is refused and nothing changes', async () => {
      const store = new WeightsStore({
        redis: ctx.redis,
        keyPrefix: prefix,
        splits,
        log: createLogger('silent'),
      });
      const a = lease('replica-a', 300);
      expect(await a.acquireOrRenew()).toBe(true);
      const staleToken = a.token as string;
      /** A write as a's controller makes it: fenced by the token a held. */
      const writeAsA = (weights: Record<string, number>) =>
        store.write(
          {
            split: 'council',
            weights,
            action: 'rollout',
            source: 'controller',
            actor: 'replica-a',
          },
          { key: rolloutLeaseKey(prefix), token: staleToken },
        );
      await writeAsA({ main: 95, canary: 5 });
      // a is paused long enough for its lease to expire and b to take over.
      await sleep(400);
      const b = lease('replica-b', 5_000);
      expect(await b.acquireOrRenew()).toBe(true);
      const write = writeAsA({ main: 75, canary: 25 });
      expect(await codeOf(write)).toBe('LEASE_LOST');
      expect(await ctx.redis.hgetall(keys.weights('council'))).toEqual({ main: '95', canary: '5' });
      expect(await ctx.redis.xlen(keys.events('council'))).toBe(1);
    });

    test('when a replica lost the lease, then its state write is refused', async () => {
      const states = new RolloutStateStore({
        redis: ctx.redis,
        stateKey: keys.rollout,
        leaseKey: rolloutLeaseKey(prefix),
      });
      const a = lease('replica-a');
      expect(await a.acquireOrRenew()).toBe(true);
      expect(await states.write(stateOf(), { expectRevision: 0, fenceToken: a.token })).toBe(1);
      await ctx.redis.set(rolloutLeaseKey(prefix), 'replica-b/other');
      expect(
        await codeOf(
          states.write(stateOf({ step: 0, status: 'paused' }), {
            expectRevision: 1,
            fenceToken: a.token,
          }),
        ),
      ).toBe('LEASE_LOST');
      expect(await ctx.redis.hget(keys.rollout('council'), 'status')).toBe('progressing');
    });
  });

  describe('state store', () => {
    test('when a state is written, then it reads back with its revision, and HGET status answers operators', async () => {
      const states = new RolloutStateStore({
        redis: ctx.redis,
        stateKey: keys.rollout,
        leaseKey: rolloutLeaseKey(prefix),
      });
      expect(await states.read('council')).toBeNull();
      expect(await states.write(stateOf(), { expectRevision: 0 })).toBe(1);
      expect(await states.read('council')).toEqual({ state: stateOf(), revision: 1 });
      expect(await ctx.redis.hget(keys.rollout('council'), 'status')).toBe('progressing');
      expect(await ctx.redis.hget(keys.rollout('council'), 'step')).toBe('0');
    });

    test('when two writers decided on the same revision, then only the first commits', async () => {
      const states = new RolloutStateStore({
        redis: ctx.redis,
        stateKey: keys.rollout,
        leaseKey: rolloutLeaseKey(prefix),
      });
      await states.write(stateOf(), { expectRevision: 0 });
      const [first, second] = await Promise.allSettled([
        states.write(stateOf({ status: 'paused' }), { expectRevision: 1 }),
        states.write(stateOf({ status: 'rolled_back' }), { expectRevision: 1 }),
      ]);
      expect(first).toEqual({ status: 'fulfilled', value: 2 });
      expect(second.status).toBe('rejected');
      expect(second.status === 'rejected' && (second.reason as { code: string }).code).toBe(
        'STALE_REVISION',
      );
      expect((await states.read('council'))?.state.status).toBe('paused');
      // Writing a first state where one exists is a conflict too.
      expect(await codeOf(states.write(stateOf(), { expectRevision: 0 }))).toBe('STALE_REVISION');
    });

    test('when the key holds something else, then reading fails naming the key and the fix', async () => {
      const states = new RolloutStateStore({
        redis: ctx.redis,
        stateKey: keys.rollout,
        leaseKey: rolloutLeaseKey(prefix),
      });
      await ctx.redis.hset(keys.rollout('council'), 'state', '{"status":"weird"}', 'revision', '3');
      await expect(states.read('council')).rejects.toThrow(
        new RegExp(
          `${keys.rollout('council')} does not hold a valid rollout state .*delete the key`,
        ),
      );
    });
  });
});
