import { createLogger } from '../../src/log/logger';
import {
  Notifier,
  slackText,
  type RolloutTransition,
} from '../../src/rollout/notifications/notifier';
import { freePort } from '../../scripts/lib/ports';
import { startWebhookReceiver, type WebhookReceiverHandle } from '../helpers/webhook-receiver';

const rolledBack: RolloutTransition = {
  id: 'council:1:2:rolled_back',
  kind: 'rolled_back',
  split: 'council',
  time: '2026-01-01T00:00:00.000Z',
  step: 2,
  steps: 4,
  canaryPercent: 0,
  version: '1.5.0',
  actor: 'replica-a:1',
  reason: 'check p95 failed: 0.93 > 0.7 for 5m of 5m',
  check: { name: 'p95', value: 0.93, threshold: 0.7, reason: '0.93 > 0.7 for 5m of 5m' },
};

describe('rollout notifications to local webhooks', () => {
  let receiver: WebhookReceiverHandle;
  let outcomes: string[];
  let notifier: Notifier;

  const make = (over: Partial<ConstructorParameters<typeof Notifier>[0]> = {}) =>
    new Notifier({
      log: createLogger('silent'),
      timeoutMs: 500,
      maxAttempts: 3,
      retryDelayMs: 20,
      onOutcome: (split, target, outcome) => outcomes.push(`${split}/${target}/${outcome}`),
      ...over,
    });

  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    outcomes = [];
    notifier = make();
  });
  afterEach(async () => {
    await notifier.close();
    await receiver.stop();
  });

  test('when a rollback is announced, then Slack gets {text} and the webhook gets the transition as JSON', async () => {
    await notifier.notify(
      {
        slack: [`${receiver.url}/slack`],
        webhooks: [
          { url: `${receiver.url}/hook`, headers: { Authorization: 'Bearer hook-secret' } },
        ],
      },
      rolledBack,
    );
    const [slack] = receiver.delivered('/slack');
    expect(slack.body).toEqual({
      text: ':rotating_light: Rollout of *council* 1.5.0 rolled back to 0%: check *p95* failed (0.93 &gt; 0.7 for 5m of 5m).',
    });
    expect(slack.headers['content-type']).toBe('application/json');
    const [hook] = receiver.delivered('/hook');
    expect(hook.body).toEqual({ type: 'rollout.rolled_back', ...rolledBack });
    expect(hook.headers.authorization).toBe('Bearer hook-secret');
    expect(outcomes.sort()).toEqual(['council/slack/sent', 'council/webhook/sent']);
  });

  test('when the target fails twice with 503, then the third attempt delivers exactly one message', async () => {
    receiver.failNext(2, 503);
    await notifier.notify({ slack: [`${receiver.url}/slack`], webhooks: [] }, rolledBack);
    expect(receiver.received.map((h) => h.path)).toEqual(['/slack', '/slack', '/slack']);
    expect(receiver.delivered('/slack')).toHaveLength(1);
    expect(outcomes).toEqual(['council/slack/sent']);
  });

  test('when the target keeps failing, then it stops after maxAttempts and counts a failure', async () => {
    receiver.failNext(10, 500);
    await notifier.notify(
      { slack: [], webhooks: [{ url: `${receiver.url}/hook`, headers: {} }] },
      rolledBack,
    );
    expect(receiver.received).toHaveLength(3);
    expect(outcomes).toEqual(['council/webhook/failed']);
  });

  test('when the target answers 400, then it is not retried', async () => {
    receiver.failNext(1, 400);
    await notifier.notify({ slack: [`${receiver.url}/slack`], webhooks: [] }, rolledBack);
    expect(receiver.received).toHaveLength(1);
    expect(outcomes).toEqual(['council/slack/failed']);
  });

  test('when the target is too slow, then each attempt times out and the whole is bounded', async () => {
    receiver.delay(2_000);
    const started = Date.now();
    await notifier.notify({ slack: [`${receiver.url}/slack`], webhooks: [] }, rolledBack);
    const took = Date.now() - started;
    expect(outcomes).toEqual(['council/slack/failed']);
    expect(receiver.received).toHaveLength(3);
    // 3 × 500 ms timeouts + 20 + 40 ms backoff, with slack for the machine.
    expect(took).toBeGreaterThanOrEqual(1_500);
    expect(took).toBeLessThan(3_000);
  });

  test('when nothing listens, then the failure is counted and notify still resolves', async () => {
    const port = await freePort();
    await expect(
      notifier.notify({ slack: [`http://127.0.0.1:${port}/slack`], webhooks: [] }, rolledBack),
    ).resolves.toEqual([]);
    expect(outcomes).toEqual(['council/slack/failed']);
  });

  test('when notify is called, then it returns before delivery (it never delays the caller)', async () => {
    receiver.delay(300);
    const started = Date.now();
    const pending = notifier.notify({ slack: [`${receiver.url}/slack`], webhooks: [] }, rolledBack);
    expect(Date.now() - started).toBeLessThan(50);
    expect(receiver.delivered('/slack')).toHaveLength(0);
    await pending;
    expect(receiver.delivered('/slack')).toHaveLength(1);
  });
});

describe('slackText', () => {
  const base = { ...rolledBack, check: undefined, version: null, reason: '' };
  it.each([
    [
      { kind: 'started', step: 1, canaryPercent: 5 },
      ':rocket: Rollout of *council* started: step 1/4, canary at 5%.',
    ],
    [
      { kind: 'promoted', step: 2, canaryPercent: 25 },
      ':arrow_up: Rollout of *council* promoted: step 2/4, canary at 25%.',
    ],
    [
      { kind: 'paused', step: 2, canaryPercent: 25, reason: 'inconclusive: p95 (no data)' },
      ':double_vertical_bar: Rollout of *council* paused at step 2/4, canary at 25%: inconclusive: p95 (no data)',
    ],
    [
      { kind: 'completed', step: 4, canaryPercent: 100 },
      ':white_check_mark: Rollout of *council* completed: canary at 100%; redeploy the stable with it, then finalise.',
    ],
    [
      { kind: 'rolled_back', reason: 'aborted by alice' },
      ':rotating_light: Rollout of *council* rolled back to 0%: aborted by alice',
    ],
  ] as const)('when %j, then the text is %s', (over, text) => {
    expect(slackText({ ...base, ...over })).toBe(text);
  });
});

describe('slackText escaping', () => {
  test('when a reason or version carries <!channel>, <@U1> or &, then Slack gets them as text, never as a mention', () => {
    const text = slackText({
      ...rolledBack,
      check: undefined,
      version: '2.0<beta>',
      reason: 'aborted by bob: <!channel> look & see <@U123>',
    });
    expect(text).toBe(
      ':rotating_light: Rollout of *council* 2.0&lt;beta&gt; rolled back to 0%: aborted by bob: &lt;!channel&gt; look &amp; see &lt;@U123&gt;',
    );
    expect(text).not.toMatch(/[<>]/);
  });
});
