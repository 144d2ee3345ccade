/**
 * Waits on what a real Traefik routes, by sending it requests (scripts/lib/traffic.ts) or reading
 * its API: the e2e tests' way to know that a configuration, a weight or a backend coming back has
 * reached routing.
 */
import { waitUntil } from '../../scripts/lib/ports';
import { routeOnce, shareOf } from '../../scripts/lib/traffic';

/**
 * Until `host` is routed to one of its backends (to `backend` when given) by the Traefik at
 * `webUrl`. The default minute is for a first routing: Traefik's HTTP provider backs off after the
 * polls that found no service yet, so it can come well after pollInterval.
 */
export function waitUntilRouted(
  webUrl: string,
  host: string,
  options: { backend?: string; timeoutMs?: number } = {},
): Promise<void> {
  const { backend, timeoutMs = 60_000 } = options;
  return waitUntil(
    `Traefik to route ${host}${backend === undefined ? '' : ` to ${backend}`}`,
    async () => {
      const answer = await routeOnce(webUrl, host);
      // routeOnce names the backend that answered, or says `status N` / `error CODE`.
      return backend === undefined ? !/^(status|error) /.test(answer) : answer === backend;
    },
    timeoutMs,
    200,
  );
}

/**
 * Until the share of `backend` among `sample` requests to `host` satisfies `holds`: a weight
 * change is seen in the share, not in one answer.
 */
export function waitUntilShare(
  what: string,
  route: { webUrl: string; host: string; backend: string; sample: number },
  holds: (share: number) => boolean,
  timeoutMs = 15_000,
): Promise<void> {
  return waitUntil(
    what,
    async () => holds(await shareOf(route.webUrl, route.host, route.backend, route.sample)),
    timeoutMs,
    200,
  );
}

/** One child of a weighted service in Traefik's API: a backend's service and its weight. */
export interface WeightedChild {
  name: string;
  weight: number;
}

/**
 * `split`'s service (`<split>@http`) as the API of the Traefik at `apiUrl` shows it: what Traefik
 * routes by, not what the provider serves. `weighted` is absent while Traefik has no such service.
 */
export async function traefikServiceView(
  apiUrl: string,
  split: string,
): Promise<{ status?: string; weighted?: { services: WeightedChild[] } }> {
  const res = await fetch(`${apiUrl}/api/http/services/${split}@http`);
  if (res.status === 404) {
    await res.body?.cancel();
    return {};
  }
  if (!res.ok) throw new Error(`Traefik's API answered ${res.status} for ${split}@http`);
  return (await res.json()) as { status?: string; weighted?: { services: WeightedChild[] } };
}

/**
 * Until the weighted children of `split`'s service in Traefik's API satisfy `shows` (given
 * undefined while Traefik has none).
 */
export function waitUntilTraefikShows(
  apiUrl: string,
  split: string,
  what: string,
  shows: (children: WeightedChild[] | undefined) => boolean,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const { timeoutMs = 15_000, intervalMs = 100 } = options;
  return waitUntil(
    `Traefik to ${what}`,
    async () => shows((await traefikServiceView(apiUrl, split)).weighted?.services),
    timeoutMs,
    intervalMs,
  );
}
