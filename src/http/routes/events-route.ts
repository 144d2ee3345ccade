import { Router } from 'express';
import { AppError } from '../../errors';
import type { ChangeEvent, ChangeFeed } from '../change-feed';

export interface EventsRouteDeps {
  feed: ChangeFeed;
  /** At most this many open streams; one more is answered 503 (default 100). */
  maxClients?: number;
  /** A comment line this often keeps proxies from closing an idle stream (default 15 s). */
  heartbeatMs?: number;
}

/** How long a browser's EventSource waits before it reconnects. */
const RETRY_MS = 1000;

function frame(id: number, event: ChangeEvent): string {
  return `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * `GET /events` (mounted under /api/v1): server-sent events, one per change of weights, rollout or
 * audit log, whoever made it. Read-only and open, like the other reads. The stream starts with a
 * `ready` event; a comment every `heartbeatMs` shows it is alive.
 */
export function eventsRoute(deps: EventsRouteDeps): Router {
  const { feed } = deps;
  const maxClients = deps.maxClients ?? 100;
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const router = Router();
  let open = 0;

  router.get('/events', (req, res) => {
    if (!(req.get('Accept') ?? '').includes('text/event-stream')) {
      throw new AppError(
        'NOT_ACCEPTABLE',
        406,
        'this is a server-sent events stream: send `Accept: text/event-stream` (EventSource does)',
      );
    }
    if (open >= maxClients) {
      res.setHeader('Retry-After', '5');
      throw new AppError(
        'TOO_MANY_STREAMS',
        503,
        `${maxClients} event streams are open already, the most this service keeps: close one or retry later`,
      );
    }
    open++;
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);

    let id = 0;
    res.write(`retry: ${RETRY_MS}\nevent: ready\ndata: {}\n\n`);
    const unsubscribe = feed.subscribe((event) => {
      res.write(frame(++id, event));
    });
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    heartbeat.unref();
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      open--;
      clearInterval(heartbeat);
      unsubscribe();
    };
    res.on('close', close);
    req.on('close', close);
  });

  return router;
}
