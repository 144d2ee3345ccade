import { resolveTraefikBinary, startTraefik, type TraefikHandle } from './traefik-process';

/**
 * Starts Traefik for the demo when a binary is available (TRAEFIK_BIN or the cache that
 * scripts/install-traefik.sh fills); undefined otherwise.
 */
export async function startLocalTraefik(options: {
  providerUrl: string;
  providerToken?: string;
}): Promise<TraefikHandle | undefined> {
  if (resolveTraefikBinary() === undefined) return undefined;
  // Held polls as shipped in traefik/traefik.yml: the hold (25s) is longer than pollInterval, so a
  // tick is always pending when it ends, and shorter than pollTimeout, so Traefik never times out.
  return startTraefik({
    ...options,
    watch: '25s',
    pollInterval: '250ms',
    pollTimeout: '30s',
    throttle: '200ms',
    // As traefik/traefik.yml recommends: without it every change waits for Traefik to generate a
    // new RSA key pair for its default certificate.
    defaultCertificate: true,
    logLevel: 'INFO',
  });
}
