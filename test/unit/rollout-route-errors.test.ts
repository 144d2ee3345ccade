import express from 'express';
import request from 'supertest';
import { LeaseLostError } from '../../src/errors';
import { requireBearer } from '../../src/http/bearer-token';
import { errorHandler } from '../../src/http/error-handler';
import { rolloutRoutes, type RolloutRoutesDeps } from '../../src/http/routes/rollout-routes';
import { createLogger } from '../../src/log/logger';
import { CorruptStateError } from '../../src/rollout/plan/corrupt-state-error';
import { StaleRevisionError } from '../../src/rollout/plan/stale-revision-error';

const TOKEN = 'route-errors-admin-token-0123456789';

/**
 * The rollout routes in front of a rollout service whose state store refuses: each domain error
 * reaches the one error handler and answers its documented status and code as problem+json.
 */
function appThrowing(err: Error): express.Express {
  const fail = () => Promise.reject(err);
  const rollouts: RolloutRoutesDeps['rollouts'] = {
    status: fail,
    start: fail,
    pause: fail,
    resume: fail,
    promote: fail,
    abort: fail,
    finalise: fail,
  };
  const app = express();
  app.use('/api/v1', rolloutRoutes({ rollouts, requireAdmin: requireBearer(TOKEN, 'set it') }));
  app.use(errorHandler(createLogger('silent')));
  return app;
}

describe('rollout routes: domain errors from the state store', () => {
  test.each([
    [
      'a stale revision that outlasted the retries',
      409,
      'STALE_REVISION',
      new StaleRevisionError(7),
    ],
    [
      'a stored state that is not one',
      409,
      'ROLLOUT_STATE_INVALID',
      new CorruptStateError('x:rollout:council does not hold a valid rollout state'),
    ],
    [
      'a fenced write refused',
      409,
      'LEASE_LOST',
      new LeaseLostError('the lease is held by another'),
    ],
  ])(
    'when the store throws %s, then POST …/pause answers %i %s as problem+json',
    async (_what, status, code, err) => {
      const res = await request(appThrowing(err))
        .post('/api/v1/splits/council/rollout/pause')
        .set('Authorization', `Bearer ${TOKEN}`)
        .set('Content-Type', 'application/json')
        .send('{}');
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const body = JSON.parse(res.text) as Record<string, unknown>;
      expect(body).toEqual({
        type: `https://traefik-canary-provider.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
        title: code,
        status,
        detail: err.message,
        instance: '/api/v1/splits/council/rollout/pause',
      });
    },
  );

  test('when the status read meets a stale revision, then GET answers 409 STALE_REVISION', async () => {
    const res = await request(appThrowing(new StaleRevisionError(3))).get(
      '/api/v1/splits/council/rollout',
    );
    expect(res.status).toBe(409);
    expect(JSON.parse(res.text)).toMatchObject({
      title: 'STALE_REVISION',
      detail: 'the rollout state changed (now at revision 3)',
    });
  });
});
