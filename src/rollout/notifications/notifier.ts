import { Agent, request, type Dispatcher } from 'undici';
import type { Logger } from '../../log/logger';
import { describeFailure } from '../../shared/http-failure';
import type { NotificationTargets } from '../../config/rollout-plan-schema';

export type TransitionKind =
  'started' | 'promoted' | 'paused' | 'resumed' | 'rolled_back' | 'completed' | 'finalised';

/** One rollout transition, as every notification target receives it. */
export interface RolloutTransition {
  /** Stable per transition, the same on every retry: receivers de-duplicate on it. */
  id: string;
  kind: TransitionKind;
  split: string;
  /** ISO-8601 */
  time: string;
  /** 1-based step the rollout is at after the transition, and the number of steps. */
  step: number;
  steps: number;
  /** Canary share after the transition, in percent. */
  canaryPercent: number;
  version: string | null;
  /** Who or what caused it: `controller`, or the operator's actor name. */
  actor: string;
  reason: string;
  /** For a rollback by analysis: the failed check. */
  check?: {
    name: string;
    value: number | null;
    threshold: number | null;
    reason: string;
    /** The PromQL the check ran (for a built-in check: the canary's). */
    query?: string;
  };
}

export interface NotifierOptions {
  log: Logger;
  /** Per attempt. Default 5000. */
  timeoutMs?: number;
  /** Attempts per target, the first included. Default 3. */
  maxAttempts?: number;
  /** First retry delay; doubles each time. Default 500. */
  retryDelayMs?: number;
  /** Counts each target's final outcome. */
  onOutcome?: (split: string, target: 'slack' | 'webhook', outcome: 'sent' | 'failed') => void;
}

const EMOJI: Record<TransitionKind, string> = {
  started: ':rocket:',
  promoted: ':arrow_up:',
  paused: ':double_vertical_bar:',
  resumed: ':arrow_forward:',
  rolled_back: ':rotating_light:',
  completed: ':white_check_mark:',
  finalised: ':checkered_flag:',
};

/**
 * Slack reads `<…>` as links and mentions (`<!channel>`) and `&` as an entity: text that comes
 * from people or Prometheus (reasons, versions) must not be able to ping a channel.
 */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The one-line text a Slack-compatible webhook shows, escaped for Slack. */
export function slackText(t: RolloutTransition): string {
  return escapeSlack(plainText(t));
}

function plainText(t: RolloutTransition): string {
  const version = t.version ? ` ${t.version}` : '';
  const where = `step ${t.step}/${t.steps}, canary at ${t.canaryPercent}%`;
  const head = `${EMOJI[t.kind]} Rollout of *${t.split}*${version}`;
  switch (t.kind) {
    case 'started':
      return `${head} started: ${where}.${t.reason ? ` ${t.reason}` : ''}`;
    case 'promoted':
      return `${head} promoted: ${where}.`;
    case 'paused':
      return `${head} paused at ${where}: ${t.reason}`;
    case 'resumed':
      return `${head} resumed at ${where}.`;
    case 'completed':
      return `${head} completed: canary at ${t.canaryPercent}%; redeploy the stable with it, then finalise.`;
    case 'finalised':
      return `${head} finalised: the stable runs it, canary at 0%.`;
    case 'rolled_back':
      return t.check
        ? `${head} rolled back to 0%: check *${t.check.name}* failed (${t.check.reason}).`
        : `${head} rolled back to 0%: ${t.reason}`;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * Sends transitions to Slack-compatible and generic JSON webhooks. `notify` never throws and never
 * blocks its caller on the network: it returns a promise that settles when every target has been
 * tried (tests await it; the controller does not). Each target gets bounded retries with backoff
 * on network errors, 429 and 5xx. Logs name a target by its host only: webhook URLs are secrets.
 */
export class Notifier {
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly dispatcher: Dispatcher;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: NotifierOptions) {
    this.log = options.log;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.dispatcher = new Agent({ connect: { timeout: this.timeoutMs } });
  }

  /**
   * Sends `transition` to the targets named in `only` (`slack:<i>`, `webhook:<i>`; default all).
   * Resolves with the targets that took it; never rejects.
   */
  notify(
    targets: NotificationTargets,
    transition: RolloutTransition,
    only?: readonly string[],
  ): Promise<string[]> {
    const wanted = (key: string) => only === undefined || only.includes(key);
    const sends: Promise<string | null>[] = [
      ...targets.slack.map((url, i) =>
        wanted(`slack:${i}`)
          ? this.send(transition.split, 'slack', url, {}, { text: slackText(transition) }).then(
              (ok) => (ok ? `slack:${i}` : null),
            )
          : Promise.resolve(null),
      ),
      ...targets.webhooks.map((hook, i) =>
        wanted(`webhook:${i}`)
          ? this.send(transition.split, 'webhook', hook.url, hook.headers, {
              type: `rollout.${transition.kind}`,
              ...transition,
            }).then((ok) => (ok ? `webhook:${i}` : null))
          : Promise.resolve(null),
      ),
    ];
    const all = Promise.all(sends).then((done) => done.filter((k): k is string => k !== null));
    const settled = all.then(() => undefined);
    this.inFlight.add(settled);
    void settled.finally(() => this.inFlight.delete(settled));
    return all;
  }

  /** Waits for notifications still being sent (bounded by timeouts and retries). */
  async drain(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  async close(): Promise<void> {
    await this.drain();
    await this.dispatcher.close();
  }

  private async send(
    split: string,
    target: 'slack' | 'webhook',
    url: string,
    headers: Record<string, string>,
    payload: unknown,
  ): Promise<boolean> {
    const body = JSON.stringify(payload);
    const host = hostOf(url);
    let lastProblem = '';
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      let retryable: boolean;
      try {
        const res = await request(url, {
          method: 'POST',
          dispatcher: this.dispatcher,
          headers: { ...headers, 'content-type': 'application/json' },
          body,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          this.options.onOutcome?.(split, target, 'sent');
          return true;
        }
        lastProblem = `HTTP ${res.statusCode}`;
        retryable = res.statusCode === 429 || res.statusCode >= 500;
      } catch (err) {
        lastProblem = describeFailure(err);
        retryable = true;
      }
      if (!retryable || attempt === this.maxAttempts) break;
      this.log.debug(
        { split, target, host, attempt, problem: lastProblem },
        'notification failed; retrying',
      );
      await sleep(this.retryDelayMs * 2 ** (attempt - 1));
    }
    this.options.onOutcome?.(split, target, 'failed');
    this.log.warn(
      { split, target, host, problem: lastProblem },
      'could not deliver a rollout notification',
    );
    return false;
  }
}
