import { Router } from 'express';
import type { Registry } from 'prom-client';
import type { ConfigProvider } from '../../traefik/provider';

export interface HealthDeps {
  provider: Pick<ConfigProvider, 'current' | 'lastSuccessAt' | 'lastError'>;
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
    if (provider.current() === undefined) reasons.push('no configuration has been built yet');
    if (provider.lastSuccessAt === undefined) {
      reasons.push(
        `Redis has not answered yet${provider.lastError ? `: ${provider.lastError}` : ''}`,
      );
    } else if (now() - provider.lastSuccessAt > readyWithinMs) {
      const ago = Math.round((now() - provider.lastSuccessAt) / 1000);
      reasons.push(
        `Redis last answered ${ago}s ago${provider.lastError ? ` (${provider.lastError})` : ''}`,
      );
    }
    if (reasons.length > 0) {
      res.status(503).json({ status: 'not ready', reasons });
      return;
    }
    res.json({ status: 'ready' });
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
