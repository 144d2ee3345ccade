/**
 * Every Lua script runs by EVALSHA: a connection sends a script's text once, and again only when
 * Redis no longer has it (SCRIPT FLUSH here; a restart or a failover to a replica that never ran
 * it in production). Watched with MONITOR on a real redis-server of the test's own, since
 * SCRIPT FLUSH empties the whole server's script cache.
 */
import { Redis } from 'ioredis';
import { parseSplitsDocument } from '../../src/config/splits';
import { createLogger } from '../../src/log/logger';
import { Lease } from '../../src/rollout/engine/lease';
import { rolloutLeaseKey } from '../../src/rollout/engine/lease-key';
import { RolloutStateStore } from '../../src/rollout/plan/rollout-state-store';
import { createKeys } from '../../src/store/keys';
import { WeightsStore } from '../../src/store/weights-store';
import { SPLITS_DOCUMENT } from '../helpers/service';
import {
  startOwnRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import { rolloutStateOf } from '../helpers/rollout-state';
import { sleep } from '../../scripts/lib/child-process';

const splits = parseSplitsDocument(SPLITS_DOCUMENT, 'test splits');
const stateAt = (step: number) =>
  rolloutStateOf({
    step,
    steps: [
      { percent: 5, bakeTime: 1_000 },
      { percent: 50, bakeTime: 1_000 },
    ],
  });

interface Sent {
  command: string;
  /** The script text for EVAL, the SHA1 for EVALSHA. */
  script: string;
}

describe('Lua scripts on a real redis-server', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let monitorBase: Redis;
  let monitor: Redis;
  const sent: string[][] = [];

  beforeAll(async () => {
    server = await startOwnRedisServer();
    redis = new Redis(server.url);
    // monitor() opens a connection of its own; the one it was called on is closed too, after.
    monitorBase = new Redis(server.url);
    monitor = await monitorBase.monitor();
    monitor.on('monitor', (_time: string, args: string[]) => sent.push(args));
  });
  afterAll(async () => {
    redis.disconnect();
    monitor.disconnect();
    monitorBase.disconnect();
    await server.stop();
  });

  /** The scripts this test's keys were touched by, once MONITOR has seen everything sent. */
  async function scriptsSent(prefix: string): Promise<Sent[]> {
    const marker = `${prefix}monitor-marker:${Math.random()}`;
    await redis.get(marker);
    const deadline = Date.now() + 10_000;
    while (!sent.some((args) => args.includes(marker))) {
      if (Date.now() > deadline) throw new Error('MONITOR never showed the marker command');
      await sleep(20);
    }
    const out = sent
      .filter((args) => args.some((a) => a.startsWith(prefix)))
      .filter((args) => /^eval/i.test(args[0]))
      .map((args) => ({ command: args[0].toLowerCase(), script: args[1] }));
    sent.length = 0;
    return out;
  }

  test('when the script cache is flushed, then writes, transitions and the lease still work, and each script text is sent at most once per connection', async () => {
    const prefix = uniquePrefix('lua');
    const keys = createKeys(prefix);
    const store = new WeightsStore({
      redis,
      keyPrefix: prefix,
      splits,
      log: createLogger('silent'),
    });
    const states = new RolloutStateStore({
      redis,
      weightsKey: keys.weights,
      eventsKey: keys.events,
      recordedKey: keys.recorded,
      stateKey: keys.rollout,
      leaseKey: rolloutLeaseKey(prefix),
    });
    const lease = new Lease({
      redis,
      key: rolloutLeaseKey(prefix),
      identity: 'replica-a',
      ttlMs: 5_000,
    });
    let revision = 0;

    // Every script twice: the first call may carry the text, the second must not.
    async function everyScriptTwice(round: number): Promise<void> {
      for (const canary of [10 + round, 20 + round]) {
        const written = await store.write({
          split: 'council',
          weights: { main: 100 - canary, canary },
          action: 'set',
          source: 'api',
          actor: 'test',
        });
        expect(written.weights).toEqual({ main: 100 - canary, canary });
      }
      await redis.hset(keys.weights('council'), 'canary', '33');
      expect((await store.recordExternal('council'))?.action).toBe('external');
      expect(await store.recordExternal('council')).toBeUndefined();

      // Acquired, then renewed twice.
      expect(await lease.acquireOrRenew()).toBe(true);
      expect(await lease.acquireOrRenew()).toBe(true);
      expect(await lease.acquireOrRenew()).toBe(true);
      for (const step of [0, 1]) {
        const result = await states.transition(stateAt(step), {
          expectRevision: revision,
          fenceToken: lease.token,
          write: {
            weights: { main: 95 - step, canary: 5 + step },
            action: 'rollout',
            source: 'controller',
            actor: 'replica-a',
            reason: 'step',
            details: {},
          },
        });
        revision = result.revision;
        expect(result.eventId).toMatch(/^\d+-\d+$/);
      }
      revision = await states.write(stateAt(1), { expectRevision: revision });
      revision = await states.write(stateAt(1), { expectRevision: revision });
      await lease.release();
      expect(await lease.acquireOrRenew()).toBe(true);
      await lease.release();
      expect(await lease.holder()).toBeNull();
    }

    async function expectEachTextOnce(): Promise<void> {
      const scripts = await scriptsSent(prefix);
      const texts = scripts.filter((s) => s.command === 'eval').map((s) => s.script);
      expect(texts.length).toBeGreaterThan(0);
      expect(new Set(texts).size).toBe(texts.length);
      const shas = scripts.filter((s) => s.command === 'evalsha');
      // Every script ran at least twice on this connection, so each went by SHA at least once.
      expect(new Set(shas.map((s) => s.script)).size).toBeGreaterThanOrEqual(6);
    }

    await everyScriptTwice(0);
    await expectEachTextOnce();

    expect(server.cli('SCRIPT', 'FLUSH').trim()).toBe('OK');
    await everyScriptTwice(1);
    await expectEachTextOnce();

    expect(await redis.hgetall(keys.weights('council'))).toEqual({ main: '94', canary: '6' });
    expect(await redis.hget(keys.rollout('council'), 'revision')).toBe(String(revision));
    expect(revision).toBe(8);
    expect(await redis.xlen(keys.events('council'))).toBe(10);
  });
});
