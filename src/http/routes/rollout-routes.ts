import { Router, type Request, type RequestHandler } from 'express';
import { reasonBodySchema, rolloutStartBodySchema } from '../../api-contract';
import type { SplitsConfig } from '../../config/splits';
import { NotFoundError } from '../../errors';
import { RolloutConflictError } from '../../rollout/plan/rollout-conflict-error';
import { jsonBody, originOf, parseBody, requireJson } from '../request-body';
import type { Operator, RolloutService } from '../../rollout/engine/rollout-service';
import type { RolloutStatusView } from '../../rollout/plan/rollout-status';

export interface RolloutRoutesDeps {
  rollouts: Pick<
    RolloutService,
    'status' | 'start' | 'pause' | 'resume' | 'promote' | 'abort' | 'finalise'
  >;
  /** Guards every write (the admin bearer token). */
  requireAdmin: RequestHandler;
  /** Whether a split is declared: a command on a declared split without a rollout is a 409. */
  isDeclared?: (split: string) => boolean;
}

/** The operator, named as in the weights API: X-Actor, and X-Change-Source: cli for canaryctl. */
function operatorOf(req: Request, why: string | undefined): Operator {
  return { ...originOf(req), reason: why };
}

/**
 * `/splits/:name/rollout` (mounted under /api/v1):
 * - GET: status (step i of n, share, bake elapsed and remaining, each check's value and verdict).
 * - POST: start, body `{version?, reason?}`; 202, the controller applies the first step.
 * - POST …/pause, …/resume, …/promote (next step now), …/abort (rollback now), …/finalise (after
 *   a completed rollout, once the stable runs the new version: stable 100 % again): `{reason?}`.
 * Writes need the admin token. Errors are thrown to the app's one error handler.
 */
export function rolloutRoutes(deps: RolloutRoutesDeps): Router {
  const { rollouts, requireAdmin } = deps;
  const router = Router();
  const json = jsonBody;
  const path = '/splits/:name/rollout';

  router.get(path, async (req, res) => {
    res.json(await rollouts.status(req.params.name));
  });

  router.post(path, requireAdmin, requireJson, json, async (req, res) => {
    const body = parseBody(rolloutStartBodySchema, req.body);
    const view = await rollouts.start(req.params.name as string, {
      ...operatorOf(req, body.reason),
      version: body.version,
    });
    res.status(202).json(view);
  });

  const command = (
    verb: 'pause' | 'resume' | 'promote' | 'abort' | 'finalise',
    status: number,
  ): [string, ...RequestHandler[]] => [
    `${path}/${verb}`,
    requireAdmin,
    requireJson,
    json,
    async (req, res) => {
      const body = parseBody(reasonBodySchema, req.body);
      const name = String(req.params.name);
      let view: RolloutStatusView;
      try {
        view = await rollouts[verb](name, operatorOf(req, body.reason));
      } catch (err) {
        // 404 is for a split that is not declared; a declared split without a rollout is a
        // command that does not fit its state.
        if (err instanceof NotFoundError && deps.isDeclared?.(name)) {
          throw new RolloutConflictError(
            `split "${name}" has had no rollout yet: nothing to ${verb}; start one with POST …/rollout`,
          );
        }
        throw err;
      }
      res.status(status).json(view);
    },
  ];

  // Pause and abort take effect before the answer; resume and promote are applied by the
  // controller at its next tick, hence 202.
  router.post(...command('pause', 200));
  router.post(...command('abort', 200));
  router.post(...command('finalise', 200));
  router.post(...command('resume', 202));
  router.post(...command('promote', 202));

  return router;
}

/**
 * For createApp's `apiRouters`: the rollout routes in front of `rollouts`, where a split declared
 * in `splits` without a rollout yet answers 409 to a command rather than 404.
 */
export function rolloutRouter(
  rollouts: RolloutRoutesDeps['rollouts'],
  splits: Pick<SplitsConfig, 'byName'>,
): (requireAdmin: RequestHandler) => Router {
  return (requireAdmin) =>
    rolloutRoutes({ rollouts, requireAdmin, isDeclared: (split) => splits.byName.has(split) });
}
