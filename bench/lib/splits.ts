/** Split names sort like their numbers: s00000, s00001, ... */
export function splitName(i: number): string {
  return `s${String(i).padStart(5, '0')}`;
}

/**
 * A splits document with `count` splits shaped like a real deployment: two backends with one
 * server each (so each split renders three services) and a router. No defaultWeights: the
 * default is stable 100, canary 0.
 */
export function generatedSplits(count: number): { splits: Record<string, unknown> } {
  const splits: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const name = splitName(i);
    const host = `10.${(i >> 8) & 255}.${i & 255}`;
    splits[name] = {
      stable: 'main',
      canary: 'canary',
      backends: {
        main: { servers: [`http://${host}.1:8080`] },
        canary: { servers: [`http://${host}.2:8080`] },
      },
      router: { rule: `Host(\`${name}.example.test\`)`, entryPoints: ['web'] },
    };
  }
  return { splits };
}

/** The one split the routing benchmarks send traffic through. */
export function routedSplit(
  mainUrl: string,
  canaryUrl: string,
): { splits: Record<string, unknown> } {
  return {
    splits: {
      bench: {
        stable: 'main',
        canary: 'canary',
        backends: { main: { servers: [mainUrl] }, canary: { servers: [canaryUrl] } },
        router: { rule: 'Host(`bench.localhost`)', entryPoints: ['web'] },
      },
    },
  };
}
