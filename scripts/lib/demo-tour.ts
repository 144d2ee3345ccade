import type { DemoBackendHandle } from './demo-backend';
import type { LiveView } from './demo-live';
import { percentages } from './demo-view';
import { sleep } from './child-process';

export interface TourContext {
  serviceUrl: string;
  adminToken: string;
  split: string;
  stable: string;
  canaryName: string;
  canary: DemoBackendHandle;
  view: LiveView;
  /** True when the split has a rollout plan with a Prometheus check (Prometheus is running). */
  checked: boolean;
  say(line: string): void;
}

async function post(ctx: TourContext, path: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${ctx.serviceUrl}/api/v1/splits/${ctx.split}${path}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${ctx.adminToken}`,
      'Content-Type': 'application/json',
      'X-Actor': 'demo-tour',
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
}

async function until(what: string, ms: number, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline)
      throw new Error(`tour: timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** The canary's share of what Traefik routed in the last second, in percent. */
function routedShare(ctx: TourContext): number {
  const routed = ctx.view.last()?.routed ?? {};
  return percentages(routed)[ctx.canaryName] ?? 0;
}

function servedShare(ctx: TourContext): number | undefined {
  const served = ctx.view.last()?.served;
  return served ? (percentages(served)[ctx.canaryName] ?? 0) : undefined;
}

/** Waits until the service serves `percent` and a full second of traffic has followed it. */
async function settle(ctx: TourContext, percent: number): Promise<void> {
  await until(`the service to serve ${percent} %`, 15_000, () => servedShare(ctx) === percent);
  // Traefik's next poll, then a whole second routed with the new weights.
  await sleep(3_000);
}

/**
 * 5 % → 25 % → a bad canary rolled back automatically (by the rollout controller's Prometheus
 * check when there is one, by hand otherwise), one narration line per step.
 */
export async function runTour(ctx: TourContext): Promise<void> {
  const { canaryName: canary, stable } = ctx;
  ctx.say(`tour 1/4: canaryctl scale ${ctx.split} 5 — 5 % of the traffic to ${canary}`);
  await post(ctx, '/scale', { percent: 5, reason: 'tour: first users' });
  await settle(ctx, 5);
  ctx.say(`tour 1/4: Traefik routed ${routedShare(ctx)} % to ${canary} in the last second`);

  ctx.say(`tour 2/4: canaryctl scale ${ctx.split} 25 — a quarter of the traffic`);
  await post(ctx, '/scale', { percent: 25, reason: 'tour: looks good' });
  await settle(ctx, 25);
  ctx.say(`tour 2/4: Traefik routed ${routedShare(ctx)} % to ${canary} in the last second`);

  if (ctx.checked) {
    ctx.say(
      `tour 3/4: a rollout of ${canary} 1.5.1 starts at 5 %, watched by a Prometheus error-ratio ` +
        'check; then the new version starts failing 30 % of its requests',
    );
    await post(ctx, '/rollback', { reason: 'tour: start the rollout from 0 %' });
    await settle(ctx, 0);
    await post(ctx, '/rollout', { version: '1.5.1', reason: 'tour: a bad canary' });
    await settle(ctx, 5);
    ctx.canary.setErrorRate(0.3);
    await until('the rollout controller to roll the bad canary back', 60_000, () => {
      const r = ctx.view.last()?.rollout;
      return r !== undefined && r.status === 'rolled_back';
    });
    const check = ctx.view.last()?.rollout?.checks.find((c) => c.verdict === 'fail');
    const value = typeof check?.value === 'number' ? check.value.toFixed(3) : check?.value;
    ctx.say(
      `tour 3/4: the rollout controller rolled ${canary} back to 0 %` +
        (check ? ` (check ${check.name} failed at ${value})` : ''),
    );
  } else {
    ctx.canary.setErrorRate(0.3);
    ctx.say(
      `tour 3/4: ${canary} fails 30 % of its requests; without prometheus there is no check, ` +
        'so it is rolled back by hand: canaryctl rollback',
    );
    await post(ctx, '/rollback', { reason: 'tour: canary answers 500s' });
  }
  await settle(ctx, 0);
  ctx.canary.setErrorRate(0);
  const toStable = percentages(ctx.view.last()?.routed ?? {})[stable] ?? 0;
  ctx.say(`tour 4/4: done — Traefik routed ${toStable} % to ${stable} in the last second`);
}
