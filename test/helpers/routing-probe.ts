/**
 * Waits on what a real Traefik routes, by sending it requests (scripts/lib/traffic.ts): the e2e
 * tests' way to know that a configuration, a weight or a backend coming back has reached routing.
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
