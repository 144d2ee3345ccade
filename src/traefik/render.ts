import type { SplitConfig } from '../config/splits';
import type { Weights } from '../store/types';
import type { HttpRouter, HttpService, TraefikConfiguration, WRRService } from './types';

/** The name a backend has as a child of its split's weighted service. */
export function childServiceName(split: SplitConfig, backend: string): string {
  const def = split.backends.find((b) => b.name === backend);
  return def?.service ?? `${split.name}-${backend}`;
}

/**
 * The weighted service of one split. Backends at weight 0 are left out (DESIGN fact 5: Traefik
 * builds every child even at weight 0, so a child naming a missing service would break the split);
 * every weight is written (fact 6: an omitted weight counts as 1).
 */
export function renderWeighted(split: SplitConfig, weights: Weights): HttpService {
  const children: WRRService[] = [];
  for (const backend of split.backends) {
    const weight = weights[backend.name] ?? 0;
    if (weight > 0) children.push({ name: childServiceName(split, backend.name), weight });
  }
  if (children.length === 0) {
    throw new Error(`split "${split.name}" has no backend with a weight above 0`);
  }
  return {
    weighted: split.sticky
      ? { services: children, sticky: { cookie: { ...split.sticky.cookie } } }
      : { services: children },
  };
}

/** What a split emits whatever its weights: the servers it defines, and its router. */
export function renderStatic(split: SplitConfig): {
  services: Record<string, HttpService>;
  router?: HttpRouter;
} {
  const services: Record<string, HttpService> = {};
  for (const backend of split.backends) {
    if (backend.servers) {
      services[`${split.name}-${backend.name}`] = {
        loadBalancer: { servers: backend.servers.map((url) => ({ url })) },
      };
    }
  }
  if (!split.router) return { services };
  const { rule, entryPoints, middlewares, priority, tls } = split.router;
  return {
    services,
    router: {
      rule,
      service: split.name,
      ...(entryPoints && { entryPoints: [...entryPoints] }),
      ...(middlewares && { middlewares: [...middlewares] }),
      ...(priority !== undefined && { priority }),
      ...(tls !== undefined && { tls: tls === true ? {} : { ...tls } }),
    },
  };
}

/**
 * Renders the Traefik dynamic configuration. Pure: the same (splits, weights) always gives an equal
 * object. `served` must hold, for every split, weights whose sum is above 0.
 */
export function render(
  splits: readonly SplitConfig[],
  served: ReadonlyMap<string, Weights>,
): TraefikConfiguration {
  const services: Record<string, HttpService> = {};
  const routers: Record<string, HttpRouter> = {};
  for (const split of splits) {
    const weights = served.get(split.name);
    if (weights === undefined) throw new Error(`no weights to render for split "${split.name}"`);
    const fixed = renderStatic(split);
    Object.assign(services, fixed.services);
    services[split.name] = renderWeighted(split, weights);
    if (fixed.router) routers[split.name] = fixed.router;
  }
  return Object.keys(routers).length > 0 ? { http: { routers, services } } : { http: { services } };
}
