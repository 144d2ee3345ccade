import type { RequestHandler } from 'express';
import { BusyError } from '../errors';
import { bearerOf, tokensEqual } from './bearer-token';

export interface OpenReadLimitOptions {
  /** Reads served at once. */
  concurrency: number;
  /** Reads that may wait for a slot; beyond, a read is refused at once. */
  queue: number;
  /** A request with this token is an operator's and is never held back. */
  adminToken?: string;
  /** Called with each outcome, for the metrics. */
  onOutcome?: (outcome: 'served' | 'queued' | 'refused') => void;
}

export interface OpenReadLimit {
  handler: RequestHandler;
  /** Reads being served now and reads waiting (for tests and metrics). */
  load(): { active: number; waiting: number };
}

/**
 * Bounds the API reads anyone may make without a token (status, history, rollout status): at most
 * `concurrency` are served at once and `queue` wait, in order; more are refused at once with a 503
 * and `Retry-After`, which costs next to nothing. So a flood of heavy reads cannot take the event
 * loop from Traefik's polls, the writes and the rollout lease. A slot is freed when the answer is
 * sent or the client goes away.
 */
export function openReadLimit(options: OpenReadLimitOptions): OpenReadLimit {
  let active = 0;
  const waiting: (() => void)[] = [];
  const isOperator = (header: string | undefined): boolean => {
    if (options.adminToken === undefined) return false;
    const presented = bearerOf(header);
    return presented !== undefined && tokensEqual(presented, options.adminToken);
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  const handler: RequestHandler = (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isOperator(req.headers.authorization)) {
      next();
      return;
    }
    const start = (): void => {
      res.once('close', release);
      next();
    };
    if (active < options.concurrency) {
      active++;
      options.onOutcome?.('served');
      start();
      return;
    }
    if (waiting.length >= options.queue) {
      options.onOutcome?.('refused');
      next(
        new BusyError(
          `too many API reads at once (${options.concurrency} served, ${options.queue} waiting): retry after 1 s, or send the admin token (reads with it are not limited); OPEN_READ_CONCURRENCY and OPEN_READ_QUEUE set the bounds`,
        ),
      );
      return;
    }
    options.onOutcome?.('queued');
    // The slot is handed over, not freed: `active` stays counted for the waiter.
    const turn = (): void => {
      res.off('close', gone);
      if (res.destroyed || res.writableEnded) {
        release();
        return;
      }
      start();
    };
    const gone = (): void => {
      const i = waiting.indexOf(turn);
      if (i >= 0) waiting.splice(i, 1);
    };
    res.once('close', gone);
    waiting.push(turn);
  };
  return { handler, load: () => ({ active, waiting: waiting.length }) };
}
