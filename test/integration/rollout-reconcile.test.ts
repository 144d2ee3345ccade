import type { Registry } from 'prom-client';
import type { SplitsConfig } from '../../src/config/splits';
import { createLogger } from '../../src/log/logger';
import type { Rollouts } from '../../src/rollout';
import { RolloutStateStore } from '../../src/rollout/plan/rollout-state-store';
import { createKeys } from '../../src/store/keys';
import { WeightsStore } from '../../src/store/weights-store';
import { rolloutLeaseKey } from '../../src/rollout/engine/lease-key';
import { sleep } from '../../scripts/lib/child-process';
import { freePort } from '../../scripts/lib/ports';
import { startMetricsApp } from '../helpers/metrics-app';
import { useRolloutRig } from '../helpers/rollout-rig';
import { councilWithRollout } from '../helpers/splits-fixtures';

const MIN = 60_000;
const OP = { actor: 'alice', source: 'api' as const };
/** The guide's VRAM line: a canary above 9.8 GB is out of family. */
const VRAM_CHECK = {
  name: 'vram',
  type: 'threshold',
  query: 'max(swarm_vram_used_bytes{variant="canary"})',
  comparator: '>',
  threshold: 9.8e9,
};

/**
 * The controller driven tick by tick (`runOnce`, no background loop) against a real redis-server
 * and Prometheus, with an injected clock where the bake matters. Each case is one way the rollout
 * could say one thing while Redis and Traefik serve another.
 */
describe('rollout reconcile: what the state says, Redis holds', () => {
  const rig = useRolloutRig({
    prefixStem: 'reconcile',
    // An out-of-family model slipped into the canary: VRAM above the guide's 9.8 GB line.
    startExporter: () =>
      startMetricsApp({ canary: { vramBytes: 10.2e9 }, main: { vramBytes: 6e9 } }),
    readyQuery: 'swarm_vram_used_bytes{variant="canary"}',
  });
  const { weights, readState: state } = rig;
  const keys = () => createKeys(rig.prefix);

  function splitsWith(rollout: Record<string, unknown>): SplitsConfig {
    return councilWithRollout({ analysisInterval: '1s', ...rollout }, '2.0.0');
  }

  /** A replica whose controller runs only when the test ticks it; it holds the lease. */
  async function replica(
    splits: SplitsConfig,
    options: { now?: () => number; prometheusUrl?: string } = {},
  ): Promise<{ rollouts: Rollouts; registry: Registry; tick: () => Promise<void> }> {
    const { rollouts, registry } = await rig.replica(splits, {
      identity: 'replica-a',
      leaseTtlMs: 60_000,
      notifierRetryDelayMs: 20,
      outboxRetryDelayMs: 50,
      ...options,
    });
    expect(await rollouts.controller.lease.acquireOrRenew()).toBe(true);
    return {
      rollouts,
      registry,
      tick: async () => {
        await rollouts.controller.runOnce();
      },
    };
  }

  /** The rollout most cases drive: three steps, each baking longer than a case moves its clock. */
  const TEN_MINUTE_STEPS = { steps: [10, 50, 100], bakeTime: '10m' };

  /** A replica on the clock `now` whose rollout (`rollout`) was started and its first step applied. */
  async function firstStepApplied(
    now: () => number,
    rollout: Record<string, unknown> = TEN_MINUTE_STEPS,
  ): ReturnType<typeof replica> {
    const started = await replica(splitsWith(rollout), { now });
    await started.rollouts.service.start('council', OP);
    await started.tick();
    return started;
  }

  const lastEvent = async () => {
    const [entry] = await rig.admin.xrevrange(keys().events('council'), '+', '-', 'COUNT', 1);
    const f: Record<string, string> = {};
    for (let i = 0; i < entry[1].length; i += 2) f[entry[1][i]] = entry[1][i + 1];
    return f;
  };

  test('when the canary’s VRAM is already above 9.8 GB at the first step, then the rollback is in Redis, audited and counted, not only announced', async () => {
    const { rollouts, registry, tick } = await replica(
      splitsWith({
        steps: [5, 25, 50, 100],
        bakeTime: '1h',
        checks: [{ ...VRAM_CHECK, onNoData: 'pause' }],
      }),
    );
    await rollouts.service.start('council', OP);
    for (let i = 0; i < 4 && (await state())?.status !== 'rolled_back'; i++) {
      await tick();
      await sleep(1_100);
    }
    expect(await state()).toMatchObject({ status: 'rolled_back', applied: true });
    expect(await weights()).toEqual({ main: '100', canary: '0' });
    const event = await lastEvent();
    expect(event).toMatchObject({ action: 'rollback', source: 'controller' });
    expect(JSON.parse(event.after)).toEqual({ main: 100, canary: 0 });
    expect(await registry.getSingleMetricAsString('swarm_rollback_events_total')).toMatch(
      /swarm_rollback_events_total\{split="council",trigger="analysis"\} 1/,
    );
  }, 20_000);

  test('when bakeTime is 0s, then each tick moves one step on the weights it just wrote, without a false “changed outside the rollout”', async () => {
    let now = 1_700_000_000_000;
    const { rollouts, tick } = await replica(splitsWith({ steps: [5, 25, 100], bakeTime: '0s' }), {
      now: () => now,
    });
    await rollouts.service.start('council', OP);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      await tick();
      now += 1_000;
      const w = await weights();
      seen.push(`${w.canary}`);
    }
    expect(await state()).toMatchObject({ status: 'completed', pausedBy: null, applied: true });
    expect(seen).toEqual(['5', '25', '100', '100']);
    const writes = (await rig.admin.xrange(keys().events('council'), '-', '+'))
      .map(([, f]) => f[f.indexOf('after') + 1])
      .map((after) => JSON.parse(after).canary as number);
    expect(writes).toEqual([5, 25, 100]);
  });

  test('when a leader wrote a promotion’s weights but its state commit was lost, then the next leader applies it instead of pausing and moving traffic back', async () => {
    let now = 1_700_000_000_000;
    const { tick } = await firstStepApplied(() => now);
    expect(await weights()).toEqual({ main: '90', canary: '10' });
    // What the old two-script write left behind: the promotion recorded as pending on the 10 %
    // weights, and the 50 % weights written, but not the state that says so.
    const store = new RolloutStateStore({
      redis: rig.admin,
      stateKey: keys().rollout,
      leaseKey: rolloutLeaseKey(rig.prefix),
    });
    const before = await store.read('council');
    const etag10 = (
      await new WeightsStore({
        redis: rig.admin,
        keyPrefix: rig.prefix,
        splits: splitsWith(TEN_MINUTE_STEPS),
        log: createLogger('silent'),
      }).read(['council'])
    )[0].etag;
    await store.write(
      { ...before!.state, step: 1, applied: false, announce: 'promoted', basedOn: etag10 },
      { expectRevision: before!.revision },
    );
    await rig.admin.hset(keys().weights('council'), 'main', '50', 'canary', '50');

    now += 1_000;
    await tick();
    expect(await state()).toMatchObject({ status: 'progressing', step: 1, applied: true });
    expect(await weights()).toEqual({ main: '50', canary: '50' });
  });

  test('when the canary is zeroed by hand after a resume and before the controller’s next tick, then the zeroing stays and the rollout is rolled back', async () => {
    let now = 1_700_000_000_000;
    const { rollouts, tick } = await firstStepApplied(() => now);
    await rollouts.service.pause('council', OP);
    now += MIN;
    await rollouts.service.resume('council', OP);
    // No replica acts in between (none leads, or the tick has not come yet).
    await rig.admin.hset(keys().weights('council'), 'canary', '0');
    now += 1_000;
    await tick();
    expect(await weights()).toEqual({ main: '90', canary: '0' });
    expect(await state()).toMatchObject({
      status: 'rolled_back',
      rollback: { trigger: 'external' },
    });
  });

  test('when the stored weights turn invalid at the last step, then the rollout pauses and the completion never overwrites them', async () => {
    let now = 1_700_000_000_000;
    const { tick } = await firstStepApplied(() => now, { steps: [50, 90], bakeTime: '1m' });
    now += MIN + 1;
    await tick();
    expect(await weights()).toEqual({ main: '10', canary: '90' });
    await rig.admin.hset(keys().weights('council'), 'main', '0', 'canary', '0');
    now += MIN + 1;
    await tick();
    now += MIN + 1;
    await tick();
    expect(await weights()).toEqual({ main: '0', canary: '0' });
    expect(await state()).toMatchObject({ status: 'paused', pausedBy: 'invalid' });
  });

  test('when a rollout completed, then a new one is refused with 409 until it is finalised, and finalising returns the stable to 100 % with the new version', async () => {
    let now = 1_700_000_000_000;
    const { rollouts, tick } = await replica(splitsWith({ steps: [50, 100], bakeTime: '1m' }), {
      now: () => now,
    });
    await rollouts.service.start('council', { ...OP, version: '2.0.0' });
    await tick();
    now += MIN + 1;
    await tick();
    now += MIN + 1;
    await tick();
    expect(await state()).toMatchObject({ status: 'completed', applied: true });
    expect(await weights()).toEqual({ main: '0', canary: '100' });

    await expect(
      rollouts.service.start('council', { ...OP, version: '2.1.0' }),
    ).rejects.toMatchObject({
      status: 409,
      message: expect.stringMatching(/still serves 100%.*finalise/),
    });
    expect(await weights()).toEqual({ main: '0', canary: '100' });

    const view = await rollouts.service.finalise('council', OP);
    expect(view).toMatchObject({ status: 'finalised', canaryPercent: 0 });
    expect(await weights()).toEqual({ main: '100', canary: '0' });
    expect((await state())?.stableVersion).toBe('2.0.0');
    expect(await lastEvent()).toMatchObject({ action: 'promote', source: 'api' });

    await rollouts.service.start('council', { ...OP, version: '2.1.0' });
    await tick();
    expect(await weights()).toEqual({ main: '50', canary: '50' });
  });

  test('when Prometheus is unreachable for 4 analyses in a row, then the rollout pauses and notifies instead of waiting out the bake', async () => {
    let now = 1_700_000_000_000;
    const deadPort = await freePort();
    const { tick, rollouts } = await replica(
      splitsWith({
        steps: [5, 100],
        bakeTime: '1h',
        checks: [VRAM_CHECK],
        notifications: { webhooks: [`${rig.receiver.url}/hook`] },
      }),
      { now: () => now, prometheusUrl: `http://127.0.0.1:${deadPort}` },
    );
    await rollouts.service.start('council', OP);
    for (let i = 0; i < 6; i++) {
      await tick();
      now += 1_000;
    }
    expect(await state()).toMatchObject({ status: 'paused', pausedBy: 'analysis-errors', step: 0 });
    expect(await weights()).toEqual({ main: '95', canary: '5' });
    await rig.receiver.waitFor('/hook', 2);
    expect(rig.receiver.delivered('/hook').map((h) => (h.body as { kind: string }).kind)).toEqual([
      'started',
      'paused',
    ]);
  });

  test('when a rollout was paused, then the paused time does not bake the step: the bake restarts at the resume', async () => {
    let now = 1_700_000_000_000;
    const { rollouts, tick } = await firstStepApplied(() => now);
    now += MIN;
    await rollouts.service.pause('council', OP);
    now += 30 * MIN;
    await rollouts.service.resume('council', OP);
    await tick();
    now += MIN;
    await tick();
    expect(await state()).toMatchObject({ status: 'progressing', step: 0 });
    expect(await weights()).toEqual({ main: '90', canary: '10' });
    now += 9 * MIN;
    await tick();
    expect(await state()).toMatchObject({ status: 'progressing', step: 1 });
    expect(await weights()).toEqual({ main: '50', canary: '50' });
  });

  test('when the webhook fails at first, then the notification stays pending in the state and is delivered later with the same id', async () => {
    const { rollouts, tick } = await replica(
      splitsWith({
        steps: [10, 100],
        bakeTime: '1h',
        notifications: { webhooks: [`${rig.receiver.url}/hook`] },
      }),
    );
    // Every attempt of the first delivery round fails (the notifier tries 3 times).
    rig.receiver.failNext(3, 503);
    await rollouts.service.start('council', OP);
    await tick();
    await rollouts.outbox.drain();
    const pending = (await state())?.outbox ?? [];
    expect(pending.map((p) => [p.transition.kind, p.targets])).toEqual([
      ['started', ['webhook:0']],
    ]);
    await sleep(150);
    await tick();
    await rollouts.outbox.drain();
    expect((await state())?.outbox).toEqual([]);
    const ok = rig.receiver
      .delivered('/hook')
      .filter((h) => (h.body as { id?: string }).id === pending[0].id);
    expect(ok.length).toBeGreaterThanOrEqual(1);
  });

  test.each([
    ['inf', 'inf'],
    ['nan', 'nan'],
    ['a 400-digit number', '9'.repeat(400)],
  ])(
    'when a hand-edit left %s in the canary weight, then abort still rolls back, audited',
    async (_what, hostile) => {
      let now = 1_700_000_000_000;
      const { rollouts, tick } = await firstStepApplied(() => now);
      await rig.admin.hset(keys().weights('council'), 'canary', hostile);
      now += 1_000;
      await tick();
      expect(await state()).toMatchObject({ status: 'paused', pausedBy: 'invalid' });

      const view = await rollouts.service.abort('council', { actor: 'bob', source: 'cli' });
      expect(view).toMatchObject({ status: 'rolled_back', applied: true });
      expect(await weights()).toEqual({ main: '100', canary: '0' });
      const event = await lastEvent();
      expect(event).toMatchObject({ action: 'rollback', source: 'cli', actor: 'bob' });
      expect(JSON.parse(event.before)).toEqual({ main: 90, canary: hostile });
    },
  );
});
