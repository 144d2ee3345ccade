/**
 * A rollout through the service as main.ts wires it: the API starts it, the controller promotes it
 * step by step on a real Prometheus's answers, and the weights it writes are what /traefik serves.
 */
import request from 'supertest';
import { ensureCliBuilt, runCli, useServiceUnderTest } from '../helpers/service';
import { adminEnvFor } from '../helpers/cli-fixtures';
import {
  p95LatencyCheck,
  startCouncilMetrics,
  type CouncilMetrics,
} from '../helpers/council-metrics';
import { councilServers, councilSplit } from '../helpers/splits-fixtures';
import { startWebhookReceiver, type WebhookReceiverHandle } from '../helpers/webhook-receiver';
import { waitUntil } from '../../scripts/lib/ports';
import { ADMIN_AUTH } from '../helpers/admin-api-request';

jest.setTimeout(90_000);
describe('a rollout through the wired service', () => {
  let council: CouncilMetrics;
  let hooks: WebhookReceiverHandle;

  beforeAll(async () => {
    council = await startCouncilMetrics();
    hooks = await startWebhookReceiver();
  });
  const ctx = useServiceUnderTest(async () => ({
    env: { PROMETHEUS_URL: council.prometheus.url },
    splits: {
      splits: {
        council: councilSplit({
          backends: councilServers({ canary: '1.5.0' }),
          rollout: {
            steps: [10, 50, 100],
            bakeTime: '2s',
            analysisInterval: '1s',
            autoPromote: true,
            checks: [p95LatencyCheck({ window: '10s', for: '1s' })],
            notifications: { webhooks: [`${hooks.url}/rollouts`] },
          },
        }),
      },
    },
  }));
  beforeAll(ensureCliBuilt);
  afterAll(async () => {
    await hooks?.stop();
    await council?.stop();
  });

  test('when a healthy canary is rolled out, then it reaches 100 % and everything agrees', async () => {
    const started = await request(ctx.svc.server)
      .post('/api/v1/splits/council/rollout')
      .set(ADMIN_AUTH)
      .send({ version: '2.0.0', reason: 'release 2.0.0' });
    expect(started.status).toBe(202);

    // Progress shows in the split's status and in canaryctl's status line.
    await waitUntil(
      'the first step',
      async () => {
        const res = await request(ctx.svc.server).get('/api/v1/splits/council');
        return res.body.rollout?.status === 'progressing' && res.body.weights.served.canary === 10;
      },
      20_000,
      100,
    );
    const cli = await runCli(['status', 'council'], adminEnvFor(ctx.svc));
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/council 2\.0\.0: progressing, step \d\/3 \(\d+%\)/);

    await waitUntil(
      'completion',
      async () => {
        const res = await request(ctx.svc.server).get('/api/v1/splits/council/rollout');
        return res.body.status === 'completed';
      },
      60_000,
      200,
    );

    expect(await ctx.redis.hgetall(`${ctx.svc.prefix}weights:council`)).toEqual({
      main: '0',
      canary: '100',
    });
    const traefik = await request(ctx.svc.server).get('/traefik');
    expect(traefik.body.http.services.council.weighted.services).toEqual([
      { name: 'council-canary', weight: 100 },
    ]);

    const history = await request(ctx.svc.server).get('/api/v1/splits/council/history?limit=50');
    const controllerWrites = history.body.events
      .filter((e: { source: string }) => e.source === 'controller')
      .map((e: { after: Record<string, number> }) => e.after.canary)
      .reverse();
    expect(controllerWrites).toEqual([10, 50, 100]);

    const metrics = (await request(ctx.svc.server).get('/metrics')).text;
    expect(metrics).toMatch(
      /swarm_deployment_version\{split="council",backend="canary",version="2\.0\.0"\} 1/,
    );
    expect(metrics).not.toMatch(/version="1\.5\.0"/);

    await waitUntil(
      'the completion notification',
      () => hooks.delivered('/rollouts').length >= 4,
      10_000,
    );
    const kinds = hooks.delivered('/rollouts').map((h) => JSON.stringify(h.body));
    expect(kinds.filter((k) => /completed/.test(k))).toHaveLength(1);
  });
});
