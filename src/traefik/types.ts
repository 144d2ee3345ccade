/** Traefik dynamic configuration, the subset this provider emits. Names follow Traefik's own. */
export interface WRRService {
  name: string;
  weight: number;
}

export interface StickyCookie {
  name?: string;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: string;
  maxAge?: number;
  path?: string;
}

export interface WeightedRoundRobin {
  services: WRRService[];
  sticky?: { cookie: StickyCookie };
}

export interface ServersLoadBalancer {
  servers: { url: string }[];
}

export interface HttpService {
  weighted?: WeightedRoundRobin;
  loadBalancer?: ServersLoadBalancer;
}

export interface HttpRouter {
  rule: string;
  service: string;
  entryPoints?: string[];
  middlewares?: string[];
  priority?: number;
  tls?: { certResolver?: string };
}

export interface TraefikConfiguration {
  http: {
    routers?: Record<string, HttpRouter>;
    services: Record<string, HttpService>;
  };
}
