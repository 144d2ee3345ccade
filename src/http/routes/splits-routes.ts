import express, { Router, type Request, type Response } from 'express';
import {
  historyQuerySchema,
  reasonBodySchema,
  scaleBodySchema,
  waitQuerySchema,
  weightsBodySchema,
} from '../../api-contract';
import type { SplitConfig, SplitsConfig } from '../../config/splits';
import { NotFoundError, ValidationError, WriteNotReplicatedError } from '../../errors';
import type { Metrics } from '../../metrics/metrics';
import { parseDuration, WAIT_TIMEOUT } from '../../shared/duration';
import { clip, isWeightText, MAX_PROBLEMS, sharesOf } from '../../store/stored-weights';
import type { ChangeAction, Weights, WriteResult } from '../../store/types';
import type { WeightsStore } from '../../store/weights-store';
import type { ConfigProvider, SplitState } from '../../traefik/provider';
import { jsonBody, originOf, parseBody, requireJson } from '../request-body';

export interface SplitsRoutesDeps {
  splits: SplitsConfig;
  store: Pick<WeightsStore, 'write' | 'history'>;
  provider: Pick<ConfigProvider, 'state' | 'refresh' | 'stale' | 'snapshot'>;
  metrics: Metrics;
  requireAdmin: express.RequestHandler;
  /** Extra facts about a split for its status (e.g. what each Traefik applied). */
  describe?: (split: string) => Promise<Record<string, unknown>>;
  /**
   * Waits until every Traefik shows the weights (`?wait=applied`); undefined when no Traefik API is
   * configured.
   */
  waitApplied?: (split: string, weights: Weights, timeoutMs: number) => Promise<unknown>;
}

/** A key JSON.parse keeps but every object copy would drop (it sets the prototype instead). */
const RESERVED_KEYS = new Set(['__proto__']);

/** `?wait=applied&timeout=10s` → milliseconds to wait (default 10 s, at most 120 s). */
function parseWait(query: unknown): number | undefined {
  const q = parseBody(waitQuerySchema, query, 'query');
  if (q.wait === undefined) {
    if (q.timeout !== undefined) throw new ValidationError('timeout goes with ?wait=applied');
    return undefined;
  }
  if (q.timeout === undefined) return 10_000;
  const ms = parseDuration(q.timeout, WAIT_TIMEOUT) as number;
  if (ms < 1 || ms > 120_000) throw new ValidationError('timeout must be from 1ms to 120s');
  return ms;
}

/**
 * A backend URL without its credentials: this status is open to anyone who can reach the
 * service, while /traefik (which carries them to Traefik) needs its token.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1***@');
}

/** At most this many stored fields are listed in a status; a huge hash says how many it has. */
export const MAX_LISTED_FIELDS = 50;

export function storedView(state: SplitState): Record<string, number | string> | null {
  if (state.stored.kind !== 'hash') return null;
  const out: Record<string, number | string> = {};
  const fields = Object.keys(state.stored.fields);
  for (const k of fields.slice(0, MAX_LISTED_FIELDS)) {
    const v = state.stored.fields[k];
    out[k] = isWeightText(v) ? Number(v) : clip(v);
  }
  if (fields.length > MAX_LISTED_FIELDS) {
    out['…'] = `${fields.length - MAX_LISTED_FIELDS} more fields not listed`;
  }
  return out;
}

export function splitsRoutes(deps: SplitsRoutesDeps): Router {
  const { splits, store, provider, metrics, requireAdmin } = deps;
  const router = Router();
  const json = jsonBody;

  const findSplit = (name: string): SplitConfig => {
    const split = splits.byName.get(name);
    if (!split) {
      throw new NotFoundError(
        `split "${name}" is not declared in ${splits.file} (declared: ${[...splits.byName.keys()].join(', ')})`,
      );
    }
    return split;
  };

  const status = async (split: SplitConfig) => {
    const state = provider.state(split.name);
    // Until Redis answers after a start from the last-good snapshot, its weights are served.
    const snapshot = state ? undefined : provider.snapshot;
    const served = state?.served ?? snapshot?.served[split.name] ?? null;
    return {
      name: split.name,
      stable: split.stable,
      canary: split.canary,
      backends: split.backends.map((b) => ({
        name: b.name,
        ...(b.service !== undefined && { service: b.service }),
        ...(b.servers !== undefined && { servers: b.servers.map(redactUrl) }),
        ...(b.version !== undefined && { version: b.version }),
      })),
      weights: { stored: state ? storedView(state) : null, served },
      storedKeyType: state
        ? state.stored.kind === 'wrong-type'
          ? state.stored.type
          : state.stored.kind === 'hash'
            ? 'hash'
            : 'none'
        : null,
      shares: served ? sharesOf(served) : null,
      source: state?.source ?? (snapshot ? 'snapshot' : null),
      valid: state?.valid ?? null,
      problems: (state?.problems ?? []).slice(0, MAX_PROBLEMS + 1),
      etag: state?.etag ?? null,
      stale: provider.stale,
      ...(snapshot && {
        snapshot: {
          writtenAt: snapshot.writtenAt,
          ageSeconds: Math.round((Date.now() - Date.parse(snapshot.writtenAt)) / 1000),
        },
      }),
      ...((await deps.describe?.(split.name)) ?? {}),
    };
  };

  router.get('/splits', async (_req, res) => {
    res.json({ splits: await Promise.all(splits.splits.map(status)) });
  });

  router.get('/splits/:name', async (req, res) => {
    const split = findSplit(req.params.name);
    const body = await status(split);
    if (body.etag) res.setHeader('ETag', body.etag);
    res.json(body);
  });

  router.get('/splits/:name/history', async (req, res) => {
    const split = findSplit(req.params.name);
    const limit = parseBody(
      historyQuerySchema,
      { ...(req.query.limit !== undefined && { limit: req.query.limit }) },
      'query',
    ).limit;
    res.json({ split: split.name, events: await store.history(split.name, limit) });
  });

  const write = (
    action: ChangeAction,
    weightsFor: (split: SplitConfig, body: unknown) => { weights: Weights; reason?: string },
  ) => [
    requireAdmin,
    requireJson,
    json,
    async (req: Request, res: Response) => {
      const split = findSplit(String(req.params.name));
      const { weights, reason: why } = weightsFor(split, req.body);
      const waitMs = parseWait(req.query);
      if (waitMs !== undefined && !deps.waitApplied) {
        throw new ValidationError(
          '?wait=applied needs TRAEFIK_API_URLS: set it to the Traefik API URLs to confirm against',
        );
      }
      const { source, actor } = originOf(req);
      const before = provider.state(split.name)?.served;
      let result: WriteResult;
      // On the primary but not confirmed by enough replicas: serve it, then answer the error.
      let unreplicated: WriteNotReplicatedError | undefined;
      try {
        result = await store.write({
          split: split.name,
          weights,
          action,
          source,
          actor,
          reason: why,
          ifMatch: req.get('If-Match'),
        });
      } catch (err) {
        if (!(err instanceof WriteNotReplicatedError) || err.written === undefined) throw err;
        unreplicated = err;
        result = err.written as WriteResult;
      }
      metrics.weightChanges.inc({ split: split.name, source });
      if ((before?.[split.canary] ?? 0) > 0 && result.weights[split.canary] === 0) {
        metrics.rollbackEvents.inc({ split: split.name, trigger: source });
      }
      await provider.refresh([split.name]);
      res.setHeader('ETag', result.etag);
      if (unreplicated) throw unreplicated;
      if (waitMs !== undefined && deps.waitApplied) {
        await deps.waitApplied(split.name, result.weights, waitMs);
      }
      res.json({ ...(await status(split)), event: result.event });
    },
  ];

  const only = (split: SplitConfig, winner: string): Weights =>
    Object.fromEntries(split.backends.map((b) => [b.name, b.name === winner ? 100 : 0]));

  router.put(
    '/splits/:name/weights',
    ...write('set', (_split, body) => {
      const given = (body as { weights?: unknown } | undefined)?.weights;
      if (typeof given === 'object' && given !== null) {
        const reserved = Object.keys(given).filter((k) => RESERVED_KEYS.has(k));
        if (reserved.length > 0) {
          throw new ValidationError(
            `the request body is invalid:\n  weights.${reserved[0]}: is not a backend name`,
            reserved.map((k) => ({ path: `weights.${k}`, message: 'is not a backend name' })),
          );
        }
      }
      return parseBody(weightsBodySchema, body);
    }),
  );
  router.post(
    '/splits/:name/scale',
    ...write('scale', (split, body) => {
      const { percent, reason: why } = parseBody(scaleBodySchema, body);
      const weights = only(split, split.stable);
      weights[split.stable] = 100 - percent;
      weights[split.canary] = percent;
      return { weights, reason: why };
    }),
  );
  router.post(
    '/splits/:name/rollback',
    ...write('rollback', (split, body) => ({
      weights: only(split, split.stable),
      reason: parseBody(reasonBodySchema, body).reason,
    })),
  );
  router.post(
    '/splits/:name/promote',
    ...write('promote', (split, body) => ({
      weights: only(split, split.canary),
      reason: parseBody(reasonBodySchema, body).reason,
    })),
  );

  return router;
}
