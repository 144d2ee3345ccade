/** Placeholder until the Traefik launcher lands: the demo runs without Traefik. */
export async function startLocalTraefik(_options: {
  providerUrl: string;
  providerToken?: string;
}): Promise<{ webUrl: string; apiUrl: string; stop(): void } | undefined> {
  return undefined;
}
