import type { BackendConfig, SplitConfig } from '../config/splits';
import { overrideRouterName, retryMiddlewareName } from '../config/splits-schema';
import type { Weights } from '../store/types';
import type {
  HttpMiddleware,
  HttpRouter,
  HttpService,
  ServerHealthCheck,
  ServersLoadBalancer,
  TraefikConfiguration,
  WRRService,
} from './types';

/** The name a backend has as a child of its split's weighted service. */
export function childServiceName(split: SplitConfig, backend: string): string {
  const def = split.backends.find((b) => b.name === backend);
  return def?.service ?? `${split.name}-${backend}`;
}

/**
 * True when the split's weighted service asks its children for their health. Validation makes
 * sure that then every backend has a check (Traefik refuses the whole split otherwise).
 */
export function splitHasHealthCheck(split: SplitConfig): boolean {
  return split.backends.some((b) => b.healthCheck !== undefined);
}

/**
 * The weighted service of one split. Backends at weight 0 are left out: Traefik builds every child
 * even at weight 0, so a child naming a missing service would break the split. Every weight is
 * written: Traefik counts an omitted one as 1.
 */
export function renderWeighted(split: SplitConfig, weights: Weights): HttpService {
  const children: WRRService[] = [];
  for (const backend of split.backends) {
    const weight = Object.hasOwn(weights, backend.name) ? weights[backend.name] : 0;
    if (weight > 0) children.push({ name: childServiceName(split, backend.name), weight });
  }
  if (children.length === 0) {
    throw new Error(`split "${split.name}" has no backend with a weight above 0`);
  }
  return {
    weighted: {
      services: children,
      ...(split.sticky && { sticky: { cookie: { ...split.sticky.cookie } } }),
      ...(splitHasHealthCheck(split) && { healthCheck: {} }),
    },
  };
}

function loadBalancer(backend: BackendConfig & { servers: string[] }): ServersLoadBalancer {
  return {
    servers: backend.servers.map((url) => ({ url })),
    ...(backend.healthCheck && { healthCheck: { ...backend.healthCheck } as ServerHealthCheck }),
    ...(backend.passiveHealthCheck && { passiveHealthCheck: { ...backend.passiveHealthCheck } }),
  };
}

/** Go regexp metacharacters escaped, for a literal inside HeaderRegexp. */
const regexpLiteral = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The rule of an override router: the split's rule and the header or cookie match. */
function overrideRule(
  rule: string,
  o: NonNullable<NonNullable<SplitConfig['router']>['overrides']>[number],
): string {
  const match =
    o.header !== undefined
      ? `Header(\`${o.header}\`, \`${o.value}\`)`
      : `HeaderRegexp(\`Cookie\`, \`(^|;\\s*)${regexpLiteral(o.cookie as string)}=${regexpLiteral(o.value)}(;|$)\`)`;
  return `(${rule}) && ${match}`;
}

/**
 * What a split emits whatever its weights: the servers it defines, its router, the routers of its
 * overrides and its retry middleware.
 */
export function renderStatic(split: SplitConfig): {
  services: Record<string, HttpService>;
  routers: Record<string, HttpRouter>;
  middlewares: Record<string, HttpMiddleware>;
} {
  const services: Record<string, HttpService> = {};
  const routers: Record<string, HttpRouter> = {};
  const middlewares: Record<string, HttpMiddleware> = {};
  for (const backend of split.backends) {
    if (backend.servers) {
      services[`${split.name}-${backend.name}`] = {
        loadBalancer: loadBalancer(backend as BackendConfig & { servers: string[] }),
      };
    }
  }
  if (!split.router) return { services, routers, middlewares };
  const { rule, entryPoints, middlewares: chain, priority, tls, retry, overrides } = split.router;
  if (retry) middlewares[retryMiddlewareName(split.name)] = { retry: { ...retry } };
  // Retry comes last in the chain, so a retried request runs only the service again.
  const used = [...(chain ?? []), ...(retry ? [retryMiddlewareName(split.name)] : [])];
  const common = {
    ...(entryPoints && { entryPoints: [...entryPoints] }),
    ...(used.length > 0 && { middlewares: used }),
    ...(tls !== undefined && { tls: tls === true ? {} : { ...tls } }),
  };
  routers[split.name] = {
    rule,
    service: split.name,
    ...common,
    ...(priority !== undefined && { priority }),
  };
  overrides?.forEach((o, i) => {
    // Without an explicit priority Traefik ranks routers by rule length, and an override's rule is
    // the split's rule and more; with one, the override must outrank it explicitly.
    routers[overrideRouterName(split.name, i)] = {
      rule: overrideRule(rule, o),
      service: childServiceName(split, o.backend),
      ...common,
      ...(priority !== undefined && { priority: priority + 1 }),
    };
  });
  return { services, routers, middlewares };
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
  const middlewares: Record<string, HttpMiddleware> = {};
  for (const split of splits) {
    const weights = served.get(split.name);
    if (weights === undefined) throw new Error(`no weights to render for split "${split.name}"`);
    const fixed = renderStatic(split);
    Object.assign(services, fixed.services);
    Object.assign(routers, fixed.routers);
    Object.assign(middlewares, fixed.middlewares);
    services[split.name] = renderWeighted(split, weights);
  }
  return {
    http: {
      ...(Object.keys(middlewares).length > 0 && { middlewares }),
      ...(Object.keys(routers).length > 0 && { routers }),
      services,
    },
  };
}
