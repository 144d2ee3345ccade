import type { RequestListener } from 'node:http';
import express, { type Express, type RequestHandler, type Router } from 'express';
import type { Registry } from 'prom-client';
import type { SplitsConfig } from '../config/splits';
import { AppError } from '../errors';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import type { WeightsStore } from '../store/weights-store';
import type { HeldPolls } from '../traefik/held-polls';
import type { ConfigProvider } from '../traefik/provider';
import { requireBearer } from './bearer-token';
import { ChangeFeed } from './change-feed';
import { errorHandler } from './error-handler';
import { openReadLimit, type OpenReadLimitOptions } from './open-read-limit';
import { eventsRoute } from './routes/events-route';
import { healthRoutes } from './routes/health-routes';
import { splitsRoutes, type SplitsRoutesDeps } from './routes/splits-routes';
import { createTraefikHandler } from './routes/traefik-route';
import { uiRoutes } from './routes/ui-routes';

export interface AppDeps {
  splits: SplitsConfig;
  provider: ConfigProvider;
  store: WeightsStore;
  metrics: Metrics;
  registry: Registry;
  log: Logger;
  providerToken?: string;
  adminToken?: string;
  /** Where `GET /traefik?watch=` polls wait for a change. */
  heldPolls?: HeldPolls;
  /** /ready fails when Redis has not answered for this long. */
  readyWithinMs: number;
  describe?: SplitsRoutesDeps['describe'];
  waitApplied?: SplitsRoutesDeps['waitApplied'];
  /** More routers under /api/v1 (e.g. rollouts), given the admin guard. */
  apiRouters?: ((requireAdmin: RequestHandler) => Router)[];
  /** The change events GET /api/v1/events streams; without one the stream stays quiet. */
  feed?: ChangeFeed;
  /** At most this many open event streams (default 100). */
  maxEventStreams?: number;
  /** The operator page's files (default: ui/ at the repository root). */
  uiDir?: string;
  /** Bounds of the API reads made without the admin token (default 2 at once, 8 waiting). */
  openReads?: Pick<OpenReadLimitOptions, 'concurrency' | 'queue' | 'onOutcome'>;
}

/** Builds the HTTP app. It never listens: main.ts (or a test) does. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const traefik = createTraefikHandler(deps);
  app.get('/traefik', (req, res) => traefik(req, res));

  app.use(uiRoutes(deps.uiDir));
  app.use(
    healthRoutes({
      provider: deps.provider,
      registry: deps.registry,
      readyWithinMs: deps.readyWithinMs,
      heldPolls: deps.heldPolls,
    }),
  );

  const requireAdmin = requireBearer(
    deps.adminToken,
    'writes are disabled: set ADMIN_TOKEN (16+ characters) in the service environment and send it as `Authorization: Bearer <token>`',
  );
  // Before any route reads Redis; the event stream has its own bound (maxEventStreams).
  const openReads = openReadLimit({
    concurrency: deps.openReads?.concurrency ?? 2,
    queue: deps.openReads?.queue ?? 8,
    adminToken: deps.adminToken,
    onOutcome: deps.openReads?.onOutcome,
  });
  app.use('/api/v1', (req, res, next) =>
    req.path === '/events' ? next() : openReads.handler(req, res, next),
  );
  app.use(
    '/api/v1',
    splitsRoutes({
      splits: deps.splits,
      store: deps.store,
      provider: deps.provider,
      metrics: deps.metrics,
      requireAdmin,
      describe: deps.describe,
      waitApplied: deps.waitApplied,
    }),
  );
  for (const make of deps.apiRouters ?? []) app.use('/api/v1', make(requireAdmin));
  app.use(
    '/api/v1',
    eventsRoute({ feed: deps.feed ?? new ChangeFeed(), maxClients: deps.maxEventStreams }),
  );

  app.use((req, _res, next) => {
    next(new AppError('NOT_FOUND', 404, `no route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler(deps.log));
  return app;
}

/**
 * The listener the server runs: GET /traefik, the endpoint every Traefik polls, is answered before
 * Express sees the request (its routing costs more than serving the prepared bytes; see
 * docs/performance.md); everything else goes to the app.
 */
export function createRequestListener(
  deps: AppDeps,
  app: Express = createApp(deps),
): RequestListener {
  const traefik = createTraefikHandler(deps);
  return (req, res) => {
    const url = req.url ?? '';
    if (
      (req.method === 'GET' || req.method === 'HEAD') &&
      (url === '/traefik' || url.startsWith('/traefik?'))
    ) {
      traefik(req, res);
      return;
    }
    void app(req, res);
  };
}
