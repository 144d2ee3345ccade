import { Router } from 'express';
import type { Registry } from 'prom-client';
import type { HeldPolls } from '../../traefik/held-polls';
import type { ConfigProvider } from '../../traefik/provider';

export interface HealthDeps {
  provider: Pick<ConfigProvider, 'current' | 'lastSuccessAt' | 'lastError' | 'stale' | 'snapshot'>;
  /** Its warnings (Traefik settings that defeat held polls) are listed by /ready. */
  heldPolls?: Pick<HeldPolls, 'activeWarnings'>;
  registry: Registry;
  /** Redis must have answered within this many ms for /ready. */
  readyWithinMs: number;
  now?: () => number;
}

export function healthRoutes(deps: HealthDeps): Router {
  const router = Router();
  const now = deps.now ?? Date.now;

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/ready', (_req, res) => {
    const { provider, readyWithinMs } = deps;
    const reasons: string[] = [];
    const snapshot = provider.snapshot;
    const source = snapshot
      ? 'snapshot'
      : provider.current() === undefined
        ? 'none'
        : provider.stale
          ? 'last-good'
          : 'redis';
    if (provider.current() === undefined) reasons.push('no configuration has been built yet');
    const ageSeconds = snapshot && Math.round((now() - Date.parse(snapshot.writtenAt)) / 1000);
    if (snapshot) {
      reasons.push(
        `serving the last-good snapshot written at ${snapshot.writtenAt} (${ageSeconds}s ago): Redis has not answered since the start`,
      );
    }
    if (provider.lastSuccessAt === undefined) {
      reasons.push(
        `Redis has not answered yet${provider.lastError ? `: ${provider.lastError}` : ''}`,
      );
    } else if (provider.stale) {
      reasons.push(
        `the Redis connection is down${provider.lastError ? `: ${provider.lastError}` : ''}`,
      );
    } else if (now() - provider.lastSuccessAt > readyWithinMs) {
      const ago = Math.round((now() - provider.lastSuccessAt) / 1000);
      reasons.push(
        `Redis last answered ${ago}s ago${provider.lastError ? ` (${provider.lastError})` : ''}`,
      );
    }
    const warnings = deps.heldPolls?.activeWarnings() ?? [];
    if (reasons.length > 0) {
      res.status(503).json({
        status: 'not ready',
        source,
        ...(snapshot && { snapshot: { writtenAt: snapshot.writtenAt, ageSeconds } }),
        reasons,
        ...(warnings.length > 0 && { warnings }),
      });
      return;
    }
    res.json({ status: 'ready', ...(warnings.length > 0 && { warnings }) });
  });

  router.get('/metrics', async (_req, res, next) => {
    try {
      const text = await deps.registry.metrics();
      res.type(deps.registry.contentType).send(text);
    } catch (err) {
      next(err);
    }
  });

  return router;
}
