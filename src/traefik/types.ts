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
  /** Present (empty) when the children report their health: a down child is skipped. */
  healthCheck?: Record<string, never>;
}

/** Traefik's ServerHealthCheck, as written in splits.yaml. */
export interface ServerHealthCheck {
  path: string;
  interval?: string;
  unhealthyInterval?: string;
  timeout?: string;
  scheme?: string;
  mode?: string;
  method?: string;
  status?: number;
  port?: number;
  hostname?: string;
  followRedirects?: boolean;
  headers?: Record<string, string>;
}

export interface PassiveServerHealthCheck {
  maxFailedAttempts?: number;
  failureWindow?: string;
}

export interface ServersLoadBalancer {
  servers: { url: string }[];
  healthCheck?: ServerHealthCheck;
  passiveHealthCheck?: PassiveServerHealthCheck;
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

export interface HttpMiddleware {
  retry?: { attempts: number; initialInterval?: string };
}

export interface TraefikConfiguration {
  http: {
    middlewares?: Record<string, HttpMiddleware>;
    routers?: Record<string, HttpRouter>;
    services: Record<string, HttpService>;
  };
}
