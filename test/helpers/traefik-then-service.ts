import { freePort } from '../../scripts/lib/ports';
import {
  startTraefik,
  type StartTraefikOptions,
  type TraefikHandle,
} from '../../scripts/lib/traefik-process';
import { startServiceProcess, type ServiceProcess } from './service';

/**
 * Starts the real Traefik polling a port reserved for the service, then the built service on that
 * port: Traefik first, so `serviceEnv` can give the service Traefik's API (TRAEFIK_API_URLS) or a
 * Prometheus scraping it. The service checks Traefik's provider token when the options give one.
 * Traefik's first polls find nobody and it backs off; waitUntilRouted waits that out. When the
 * service does not start, Traefik is stopped again: the caller never got its handle.
 */
export async function startTraefikThenService(
  traefikOptions: Omit<StartTraefikOptions, 'providerUrl'>,
  serviceEnv: (traefik: TraefikHandle) => Record<string, string> | Promise<Record<string, string>>,
): Promise<{ traefik: TraefikHandle; service: ServiceProcess }> {
  const servicePort = await freePort();
  const traefik = await startTraefik({
    providerUrl: `http://127.0.0.1:${servicePort}/traefik`,
    ...traefikOptions,
  });
  try {
    const service = await startServiceProcess(servicePort, {
      ...(traefikOptions.providerToken !== undefined && {
        PROVIDER_TOKEN: traefikOptions.providerToken,
      }),
      ...(await serviceEnv(traefik)),
    });
    return { traefik, service };
  } catch (err) {
    await traefik.stop();
    throw err;
  }
}
