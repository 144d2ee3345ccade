import { freePort } from '../../scripts/lib/ports';
import {
  startTraefik,
  type StartTraefikOptions,
  type TraefikHandle,
} from '../../scripts/lib/traefik-process';

/**
 * Starts the real Traefik polling a port reserved for the service, which the test starts next on
 * `servicePort`: Traefik first, so the service can be given Traefik's API (TRAEFIK_API_URLS) or a
 * Prometheus scraping it. Its first polls find nobody and it backs off; waitUntilRouted waits that
 * out.
 */
export async function startTraefikBeforeService(
  options: Omit<StartTraefikOptions, 'providerUrl'>,
): Promise<{ traefik: TraefikHandle; servicePort: number }> {
  const servicePort = await freePort();
  const traefik = await startTraefik({
    providerUrl: `http://127.0.0.1:${servicePort}/traefik`,
    ...options,
  });
  return { traefik, servicePort };
}
