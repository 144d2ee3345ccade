import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import { parseDuration, WATCH_DURATION } from '../shared/duration';

/** The longest `?watch=` accepted: Traefik must be told a `pollTimeout` longer than the hold. */
export const MAX_WATCH_MS = 60_000;

/** A setting that defeats the hold, as poll spacing shows it. */
export type HoldWarning = 'poll-interval-exceeds-watch' | 'client-timeout-within-watch';

const WARNING_TEXT: Record<HoldWarning, string> = {
  'poll-interval-exceeds-watch':
    'held polls: a poll arrived more than 2s after the previous answer on its connection; ' +
    'set pollInterval shorter than ?watch= (e.g. 250ms with ?watch=25s) so a change is sent at once',
  'client-timeout-within-watch':
    'held polls: a client closed its connection while its poll was held; ' +
    'set pollTimeout longer than ?watch= (e.g. 30s with ?watch=25s), or Traefik counts a timeout and backs off',
};

/**
 * A poll arriving this long after the previous answer on its connection shows a pollInterval that
 * defeats the hold: a change made in that gap waited for the poll instead of being pushed.
 */
const SLOW_POLL_MS = 2_000;

/** How long a warning stays in the status after the last poll that showed it. */
const WARNING_TTL_MS = 10 * 60_000;

interface Held {
  req: IncomingMessage;
  res: ServerResponse;
  timer: NodeJS.Timeout;
  deadline: number;
  answer: () => void;
  onClose: () => void;
}

interface ConnectionState {
  /** ETag of the last body sent on this connection. */
  etag: string;
  /** When it was sent (ms, monotonic). */
  at: number;
}

export interface HeldPollsOptions {
  metrics: Metrics;
  log: Logger;
  now?: () => number;
}

/**
 * Polls held until the configuration changes (`GET /traefik?watch=<duration>`). Traefik's HTTP
 * provider fetches on a ticker with one keep-alive client; when a fetch outlasts `pollInterval` a
 * tick is pending, so the next fetch starts as soon as a held one is answered. Holding a poll whose
 * connection already has the current body therefore sends a change the moment it is published.
 */
export class HeldPolls {
  private readonly held = new Set<Held>();
  private readonly connections = new WeakMap<Socket, ConnectionState>();
  private readonly warnings = new Map<HoldWarning, number>();
  private isClosing = false;
  private readonly now: () => number;

  constructor(private readonly options: HeldPollsOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** True once shutdown began: nothing is held, and every answer closes its connection. */
  get closing(): boolean {
    return this.isClosing;
  }

  /** Held polls waiting for a change. */
  get inFlight(): number {
    return this.held.size;
  }

  /** Settings that defeat the hold, seen within the last ten minutes. */
  activeWarnings(): { code: HoldWarning; detail: string }[] {
    const cutoff = this.now() - WARNING_TTL_MS;
    return [...this.warnings]
      .filter(([, at]) => at >= cutoff)
      .map(([code]) => ({ code, detail: WARNING_TEXT[code] }));
  }

  /** Records that `etag` was sent on the request's connection. */
  sent(req: IncomingMessage, etag: string): void {
    this.connections.set(req.socket, { etag, at: this.now() });
  }

  /**
   * Holds the poll when its connection last received `etag` (the current body): `answer` runs on
   * the next change, at the deadline, or at shutdown. Returns false, without holding, when the
   * poll must be answered at once.
   */
  hold(
    req: IncomingMessage,
    res: ServerResponse,
    etag: string,
    watchMs: number,
    answer: () => void,
  ): boolean {
    const last = this.connections.get(req.socket);
    if (last === undefined || this.isClosing || watchMs <= 0) return false;
    if (this.now() - last.at > SLOW_POLL_MS) this.warn('poll-interval-exceeds-watch');
    if (last.etag !== etag) return false;
    const entry: Held = {
      req,
      res,
      deadline: this.now() + watchMs,
      answer,
      timer: setTimeout(() => this.release(entry), watchMs).unref(),
      onClose: () => {
        if (!this.held.delete(entry)) return;
        clearTimeout(entry.timer);
        this.options.metrics.heldPolls.set(this.held.size);
        // Closed well before the deadline: the client gave up on a hold it asked for.
        if (entry.deadline - this.now() > 50) this.warn('client-timeout-within-watch');
      },
    };
    this.held.add(entry);
    res.once('close', entry.onClose);
    this.options.metrics.heldPolls.set(this.held.size);
    return true;
  }

  /**
   * The configuration changed: answers every held poll with it. `noticedAt` (ms, monotonic) is
   * when the change was first noticed in Redis; the time to the last release is observed.
   */
  releaseAll(noticedAt?: number): number {
    const entries = [...this.held];
    for (const entry of entries) this.release(entry);
    if (entries.length > 0 && noticedAt !== undefined) {
      this.options.metrics.heldPollRelease.observe(Math.max(0, this.now() - noticedAt) / 1000);
    }
    return entries.length;
  }

  /**
   * Shutdown: answers every held poll at once and holds no more. Resolves when those answers are
   * written (or after `timeoutMs`), so closing the server after it does not cut them off.
   */
  async drain(timeoutMs = 2_000): Promise<void> {
    this.isClosing = true;
    const responses = [...this.held].map((e) => e.res);
    this.releaseAll();
    const pending = responses.filter((res) => !res.writableFinished);
    if (pending.length === 0) return;
    await Promise.race([
      Promise.all(
        pending.map(
          (res) =>
            new Promise<void>((resolve) => {
              res.once('finish', resolve);
              res.once('close', resolve);
            }),
        ),
      ),
      new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }

  private release(entry: Held): void {
    if (!this.held.delete(entry)) return;
    clearTimeout(entry.timer);
    entry.res.off('close', entry.onClose);
    this.options.metrics.heldPolls.set(this.held.size);
    entry.answer();
  }

  private warn(code: HoldWarning): void {
    const seen = this.warnings.get(code);
    const now = this.now();
    this.warnings.set(code, now);
    this.options.metrics.holdWarnings.inc({ reason: code });
    if (seen === undefined || now - seen > WARNING_TTL_MS) {
      this.options.log.warn({ reason: code }, WARNING_TEXT[code]);
    }
  }
}

/**
 * Parses `?watch=` from a request URL: undefined when absent, milliseconds when valid, or a
 * message saying what is wrong.
 */
export function watchOf(url: string): number | undefined | { error: string } {
  const query = url.indexOf('?');
  if (query < 0) return undefined;
  const params = new URLSearchParams(url.slice(query + 1));
  const values = params.getAll('watch');
  if (values.length === 0) return undefined;
  if (values.length > 1) return { error: '`watch` is given more than once' };
  const text = values[0];
  const ms = parseDuration(text, WATCH_DURATION);
  if (ms === undefined) {
    return {
      error: `\`watch\` must be a duration such as 25s or 500ms (at most 60s), got ${JSON.stringify(text)}`,
    };
  }
  if (ms > MAX_WATCH_MS) {
    return { error: `\`watch\` is at most 60s, got ${text}` };
  }
  return ms;
}
