import express, {
  Router,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { z } from 'zod';
import { formatIssues } from '../../config/splits';
import { AppError, ValidationError } from '../../errors';
import type { Operator, RolloutService } from '../../rollout/rollout-service';
import type { RolloutStatusView } from '../../rollout/rollout-status';

export interface RolloutRoutesDeps {
  rollouts: Pick<RolloutService, 'status' | 'start' | 'pause' | 'resume' | 'promote' | 'abort'>;
  /** Guards every write (the admin bearer token). */
  requireAdmin: RequestHandler;
}

const reason = z.string().max(500, 'must be at most 500 characters').optional();
const bodies = {
  start: z
    .object({
      version: z
        .string()
        .min(1, 'must not be empty')
        .max(128, 'must be at most 128 characters')
        .optional(),
      reason,
    })
    .strict(),
  plain: z.object({ reason }).strict(),
};

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    throw new ValidationError(
      `the request body is invalid:\n${formatIssues(result.error.issues)}`,
      result.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })),
    );
  }
  return result.data;
}

/** Writes take JSON only; an empty body is allowed (every field is optional). */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined ||
    Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    next(
      new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        415,
        'send the body as Content-Type: application/json',
      ),
    );
    return;
  }
  next();
}

/** The operator, named as in the weights API: X-Actor, and X-Change-Source: cli for canaryctl. */
function operatorOf(req: Request, why: string | undefined): Operator {
  const source = req.get('X-Change-Source') === 'cli' ? 'cli' : 'api';
  const actor = (req.get('X-Actor') ?? '').slice(0, 100) || source;
  return { actor, source, reason: why };
}

/**
 * `/splits/:name/rollout` (mounted under /api/v1):
 * - GET: status (step i of n, share, bake elapsed and remaining, each check's value and verdict).
 * - POST: start, body `{version?, reason?}`; 202, the controller applies the first step.
 * - POST …/pause, …/resume, …/promote (next step now), …/abort (rollback now): body `{reason?}`.
 * Writes need the admin token. Errors are thrown to the app's one error handler.
 */
export function rolloutRoutes(deps: RolloutRoutesDeps): Router {
  const { rollouts, requireAdmin } = deps;
  const router = Router();
  const json = express.json({ limit: '16kb', strict: true, type: 'application/json' });
  const path = '/splits/:name/rollout';

  router.get(path, async (req, res) => {
    res.json(await rollouts.status(req.params.name));
  });

  router.post(path, requireAdmin, requireJson, json, async (req, res) => {
    const body = parseBody(bodies.start, req.body);
    const view = await rollouts.start(req.params.name as string, {
      ...operatorOf(req, body.reason),
      version: body.version,
    });
    res.status(202).json(view);
  });

  const command = (
    verb: 'pause' | 'resume' | 'promote' | 'abort',
    status: number,
  ): [string, ...RequestHandler[]] => [
    `${path}/${verb}`,
    requireAdmin,
    requireJson,
    json,
    async (req, res) => {
      const body = parseBody(bodies.plain, req.body);
      const view: RolloutStatusView = await rollouts[verb](
        String(req.params.name),
        operatorOf(req, body.reason),
      );
      res.status(status).json(view);
    },
  ];

  // Pause and abort take effect before the answer; resume and promote are applied by the
  // controller at its next tick, hence 202.
  router.post(...command('pause', 200));
  router.post(...command('abort', 200));
  router.post(...command('resume', 202));
  router.post(...command('promote', 202));

  return router;
}
