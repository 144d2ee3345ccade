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
  return startTraefik({ ...options, pollInterval: '1s', throttle: '200ms', logLevel: 'INFO' });
}
