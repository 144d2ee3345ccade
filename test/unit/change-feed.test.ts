import { ChangeFeed, type ChangeEvent } from '../../src/http/change-feed';
import { sleep } from '../../scripts/lib/child-process';

const tick = (ms = 30): Promise<void> => sleep(ms);

/** Waits (up to 5 s, for a loaded machine) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met within 5 s');
    await tick(5);
  }
}

/** A feed that reads the council split's rollout through `describe` every 10 ms while listened to. */
function councilFeed(describe: () => Promise<unknown>): ChangeFeed {
  return new ChangeFeed({ rolloutPollMs: 10, rollouts: { splits: ['council'], describe } });
}

describe('ChangeFeed', () => {
  test('when a listener throws, then it is dropped and the others still get every event', () => {
    const feed = new ChangeFeed();
    const got: ChangeEvent[] = [];
    feed.subscribe(() => {
      throw new Error('gone');
    });
    feed.subscribe((e) => got.push(e));

    feed.publish({ type: 'audit', split: 'a' });
    feed.publish({ type: 'audit', split: 'b' });

    expect(got.map((e) => e.type === 'audit' && e.split)).toEqual(['a', 'b']);
    expect(feed.listenerCount).toBe(1);
  });

  test('when only the bake clock moves, then no rollout event; when the step moves, then one', async () => {
    let rollout = { status: 'progressing', step: 1, bake: { elapsedMs: 0, remainingMs: 600_000 } };
    let reads = 0;
    const feed = councilFeed(async () => {
      reads++;
      rollout = { ...rollout, bake: { elapsedMs: reads * 10, remainingMs: 600_000 - reads * 10 } };
      return { rollout };
    });
    const got: ChangeEvent[] = [];
    const unsubscribe = feed.subscribe((e) => got.push(e));
    await until(() => reads >= 4);
    const quiet = got.length;

    rollout = { ...rollout, step: 2 };
    await until(() => got.length > 0);
    unsubscribe();
    const readsWhenClosed = reads;
    await tick(40);

    expect(quiet).toBe(0);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: 'rollout', split: 'council', rollout: { step: 2 } });
    expect(reads).toBe(readsWhenClosed); // nobody listens: nothing is read
  });

  test('when a rollout read fails, then the watch goes on and reports the next change', async () => {
    let fail = true;
    let reads = 0;
    let status = 'progressing';
    const feed = councilFeed(async () => {
      reads++;
      if (fail) throw new Error('redis away');
      return { rollout: { status } };
    });
    const got: ChangeEvent[] = [];
    feed.subscribe((e) => got.push(e));
    await until(() => reads >= 2);
    fail = false;
    const firstGood = reads;
    await until(() => reads >= firstGood + 2);
    status = 'paused';
    await until(() => got.length > 0);
    feed.close();

    expect(got).toEqual([{ type: 'rollout', split: 'council', rollout: { status: 'paused' } }]);
  });
});
