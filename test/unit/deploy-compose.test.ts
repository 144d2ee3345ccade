import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadEnv } from '../../src/config/env';
import { parseSplitsDocument } from '../../src/config/splits';
import { redisTargetOf } from '../../src/store/redis-client';
import { BASE_STACK_SERVICES, GUIDE_CANARY_ENV } from '../helpers/compose-kit';
import { ROOT } from '../../scripts/lib/build-dist';

/**
 * The Compose kit, checked without a Docker engine: the files parse, and the pieces that must agree
 * (service names, ports, mounts, tokens, the split's backends, Traefik's providers) do agree.
 */

const COMPOSE_DIR = path.join(ROOT, 'compose');

type Dict = Record<string, unknown>;

function load(file: string): Dict {
  return YAML.parse(fs.readFileSync(file, 'utf8'), { merge: true }) as Dict;
}

/** Compose-style `${VAR}`, `${VAR:-default}`, `${VAR:?message}` with an empty environment. */
function interpolate(value: string, env: Record<string, string> = {}): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g,
    (_m, name, op, arg) => {
      const v = env[name as string];
      if (op === ':-' || op === '-') return v !== undefined && v !== '' ? v : (arg as string);
      if (op === ':?' || op === '?') {
        if (v === undefined || v === '') throw new Error(`${name as string} is required: ${arg}`);
        return v;
      }
      return v ?? '';
    },
  );
}

const base = load(path.join(COMPOSE_DIR, 'docker-compose.yml'));
const overlay = load(path.join(COMPOSE_DIR, 'docker-compose.canary.yml'));
const services = base.services as Record<string, Dict>;
const overlayServices = overlay.services as Record<string, Dict>;
const staticConfig = load(path.join(ROOT, 'traefik/traefik.compose.yml'));
const prometheus = load(path.join(COMPOSE_DIR, 'prometheus/prometheus.yml'));

const env = (svc: Dict): Record<string, string> => svc.environment as Record<string, string>;
const labels = (svc: Dict): string[] => (svc.labels as string[] | undefined) ?? [];
/** [host ip, host port, container port] of each published port, with defaults interpolated. */
const published = (svc: Dict): [string, number, number][] =>
  ((svc.ports as string[] | undefined) ?? []).map((p) => {
    const parts = interpolate(p).split(':');
    if (parts.length !== 3) throw new Error(`port "${p}" does not name a host IP`);
    return [parts[0], Number(parts[1]), Number(parts[2])];
  });

describe('compose/docker-compose.yml', () => {
  it('when parsed, then it declares the whole stack', () => {
    expect(Object.keys(services).sort()).toEqual([...BASE_STACK_SERVICES].sort());
  });

  it('when any port is published, then it binds 127.0.0.1 only', () => {
    const all = [...Object.values(services), ...Object.values(overlayServices)].flatMap(published);
    expect(all.length).toBeGreaterThan(0);
    for (const [ip] of all) expect(ip).toBe('127.0.0.1');
  });

  it("when published, then the ports are the guide's: main :9000, Traefik :80 and :8080, Grafana :3000", () => {
    expect(published(services['council-main'])).toEqual([['127.0.0.1', 9000, 9000]]);
    expect(published(services.traefik).map(([, h, c]) => [h, c])).toEqual([
      [80, 80],
      [8080, 8080],
    ]);
    expect(published(services.grafana)[0].slice(1)).toEqual([3000, 3000]);
    expect(published(services.prometheus)[0].slice(1)).toEqual([9090, 9090]);
    // A host port range: `--scale provider=2` gives each replica its own.
    expect(interpolate((services.provider.ports as string[])[0])).toBe('127.0.0.1:9500-9503:9500');
    expect(published(services.redis)[0].slice(1)).toEqual([6379, 6379]);
  });

  it('when Redis starts, then AOF persistence is on and its data lives in a named volume', () => {
    const command = services.redis.command as string[];
    const flag = command.indexOf('--appendonly');
    expect(flag).toBeGreaterThan(0);
    expect(command[flag + 1]).toBe('yes');
    expect(services.redis.volumes).toContain('redis-data:/data');
    expect(base.volumes).toHaveProperty('redis-data');
  });

  it('when the provider is built, then it comes from the repository Dockerfile', () => {
    const build = services.provider.build as Dict;
    const context = path.resolve(COMPOSE_DIR, build.context as string);
    expect(context).toBe(ROOT);
    expect(fs.existsSync(path.join(context, build.dockerfile as string))).toBe(true);
  });

  it('when the provider starts, then it listens on all interfaces with Redis, tokens and the splits mount', () => {
    const e = env(services.provider);
    expect(e.HOST).toBe('0.0.0.0');
    expect(e.PORT).toBe('9500');
    expect(e.REDIS_URL).toBe('redis://redis:6379');
    expect(e.METRICS_PREFIX).toBe('swarm_');
    expect(e.TRAEFIK_API_URLS).toBe('http://traefik:8080');
    expect(e.PROMETHEUS_URL).toBe('http://prometheus:9090');
    // Tokens are required: Compose refuses to start without them instead of running open.
    expect(() => interpolate(e.PROVIDER_TOKEN)).toThrow(/PROVIDER_TOKEN is required/);
    expect(() => interpolate(e.ADMIN_TOKEN)).toThrow(/ADMIN_TOKEN is required/);
    expect(interpolate(e.PROVIDER_TOKEN, { PROVIDER_TOKEN: 'abc' })).toBe('abc');
    expect(services.provider.volumes).toContain(`./splits.yaml:${e.SPLITS_FILE}:ro`);
  });

  it('when Traefik starts, then it runs the entrypoint that writes the same PROVIDER_TOKEN the provider checks', () => {
    const t = services.traefik;
    expect(t.entrypoint).toEqual(['/bin/sh', '/etc/traefik/compose-entrypoint.sh']);
    expect(env(t).PROVIDER_TOKEN).toBe(env(services.provider).PROVIDER_TOKEN);
    const mounts = t.volumes as string[];
    expect(mounts).toContain('../traefik/traefik.compose.yml:/etc/traefik/traefik.compose.yml:ro');
    expect(mounts).toContain(
      '../traefik/compose-entrypoint.sh:/etc/traefik/compose-entrypoint.sh:ro',
    );
    expect(env(t).TRAEFIK_TEMPLATE).toBe('/etc/traefik/traefik.compose.yml');
  });

  it('when a service bind-mounts a file or folder, then it exists in the repository', () => {
    const all = { ...services, ...overlayServices };
    let checked = 0;
    for (const [name, svc] of Object.entries(all)) {
      for (const v of (svc.volumes as string[] | undefined) ?? []) {
        const source = v.split(':')[0];
        if (!source.startsWith('.')) continue;
        checked += 1;
        expect({ name, source, exists: fs.existsSync(path.resolve(COMPOSE_DIR, source)) }).toEqual({
          name,
          source,
          exists: true,
        });
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it('when a container is on a network, then the councils never share one with Redis or the provider', () => {
    const nets = (svc: Dict): string[] => svc.networks as string[];
    expect(nets(services['council-main'])).toEqual(['edge']);
    for (const name of ['redis', 'provider', 'grafana', 'alertmanager']) {
      expect({ name, networks: nets(services[name]) }).toEqual({ name, networks: ['control'] });
    }
    expect(nets(services.traefik).sort()).toEqual(['control', 'edge']);
    // No Docker socket anywhere: the provider declares every router, Traefik reads no labels.
    for (const svc of Object.values(services)) {
      for (const v of (svc.volumes as string[] | undefined) ?? [])
        expect(v).not.toContain('docker.sock');
      expect(labels(svc)).toEqual([]);
    }
  });

  it('when Redis is checked, then only a PONG counts as healthy (NOAUTH exits 0 too)', () => {
    const test = (services.redis.healthcheck as Dict).test as string[];
    expect(test).toEqual(['CMD-SHELL', 'redis-cli ping | grep -qx PONG']);
  });

  it('when no council image is set, then loading refuses instead of running a placeholder tag', () => {
    expect(() => interpolate(services['council-main'].image as string)).toThrow(/COUNCIL_IMAGE/);
    expect(() => interpolate(overlayServices['council-canary'].image as string)).toThrow(
      /COUNCIL_CANARY_IMAGE/,
    );
  });

  it('when the example plan names SLACK_WEBHOOK_URL, then the provider and Alertmanager get it', () => {
    expect(env(services.provider).SLACK_WEBHOOK_URL).toBe('${SLACK_WEBHOOK_URL:-}');
    expect(env(services.alertmanager).SLACK_WEBHOOK_URL).toBe('${SLACK_WEBHOOK_URL:-}');
    const example = fs.readFileSync(path.join(COMPOSE_DIR, '.env.example'), 'utf8');
    expect(example).toMatch(/^SLACK_WEBHOOK_URL=/m);
  });

  it('when Grafana starts, then its provisioning and dashboards are mounted where the provider file looks', () => {
    const mounts = services.grafana.volumes as string[];
    expect(mounts).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(mounts).toContain('./grafana/dashboards:/etc/grafana/dashboards:ro');
    const provider = load(path.join(COMPOSE_DIR, 'grafana/provisioning/dashboards/canary.yml'));
    const [p] = provider.providers as Dict[];
    expect((p.options as Dict).path).toBe('/etc/grafana/dashboards');
    const home = env(services.grafana).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(fs.existsSync(path.join(COMPOSE_DIR, 'grafana/dashboards', path.basename(home)))).toBe(
      true,
    );
    expect(() => interpolate(env(services.grafana).GF_SECURITY_ADMIN_PASSWORD)).toThrow(/required/);
  });
});

describe('compose/docker-compose.canary.yml', () => {
  const canary = overlayServices['council-canary'];

  it('when parsed, then it adds only the canary council, on :9001, configured by canary.env', () => {
    expect(Object.keys(overlayServices)).toEqual(['council-canary']);
    expect(published(canary)).toEqual([['127.0.0.1', 9001, 9001]]);
    expect(env(canary).PORT).toBe('9001');
    const [envFile] = canary.env_file as { path: string; required: boolean }[];
    expect(interpolate(envFile.path)).toBe('canary.env');
    expect(envFile.required).toBe(true);
    expect(canary.networks).toEqual(['edge']);
  });

  it('when started, then it carries no Traefik labels: the provider routes to it', () => {
    expect(labels(canary)).toEqual([]);
  });
});

describe('compose/splits.yaml', () => {
  const doc = YAML.parse(fs.readFileSync(path.join(COMPOSE_DIR, 'splits.yaml'), 'utf8'));

  it("when validated with the service's own schema, then it is accepted", () => {
    const splits = parseSplitsDocument(doc, 'compose/splits.yaml');
    expect([...splits.byName.keys()]).toEqual(['council']);
  });

  it('when read, then the provider declares the router and both backends by container URL', () => {
    const council = doc.splits.council;
    expect([council.stable, council.canary]).toEqual(['main', 'canary']);
    // Servers we define: no container's labels hold the route, so stopping main keeps the router.
    for (const [backend, service] of [
      ['main', services['council-main']],
      ['canary', overlayServices['council-canary']],
    ] as const) {
      const url = new URL(council.backends[backend].servers[0]);
      expect(url.port).toBe(env(service).PORT);
      expect(council.backends[backend].healthCheck.path).toBe('/health');
      expect(typeof council.backends[backend].version).toBe('string');
    }
    expect(new URL(council.backends.main.servers[0]).hostname).toBe('council-main');
    expect(new URL(council.backends.canary.servers[0]).hostname).toBe('council-canary');
    expect(council.defaultWeights).toEqual({ main: 100, canary: 0 });
    expect(council.router.rule).toBe('Host(`council.localhost`)');
    expect(council.router.entryPoints).toEqual(['web']);
    expect(council.router.overrides).toEqual([
      { header: 'X-Canary', value: 'always', backend: 'canary' },
      { cookie: 'canary', value: 'always', backend: 'canary' },
    ]);
  });
});

describe('traefik/traefik.compose.yml', () => {
  const providers = staticConfig.providers as Dict;

  it('when Traefik polls, then it asks the provider service on its port, with the token header', () => {
    const http = providers.http as Dict;
    const endpoint = new URL(http.endpoint as string);
    expect(endpoint.hostname).toBe('provider');
    expect(endpoint.hostname in services).toBe(true);
    expect(endpoint.port).toBe(env(services.provider).PORT);
    expect(endpoint.pathname).toBe('/traefik');
    expect(http.headers).toEqual({ Authorization: 'Bearer __PROVIDER_TOKEN__' });
    // Held polls: the hold sits between pollInterval and pollTimeout.
    expect(endpoint.search).toBe('?watch=25s');
    expect(http.pollInterval).toBe('250ms');
    expect(http.pollTimeout).toBe('30s');
  });

  it('when Traefik starts, then it reads no Docker labels (the provider declares every route)', () => {
    expect(Object.keys(providers).sort()).toEqual(['http', 'providersThrottleDuration']);
    expect(((staticConfig.metrics as Dict).prometheus as Dict).addServicesLabels).toBe(true);
  });

  it('when the provider confirms propagation and Prometheus scrapes, then the entrypoints match', () => {
    const eps = staticConfig.entryPoints as Record<string, { address: string }>;
    expect(eps.web.address).toBe(':80');
    expect(eps.traefik.address).toBe(':8080');
    expect(new URL(env(services.provider).TRAEFIK_API_URLS).port).toBe('8080');
    expect((staticConfig.api as Dict).dashboard).toBe(true);
    const metricsEp = ((staticConfig.metrics as Dict).prometheus as Dict).entryPoint as string;
    expect(eps[metricsEp].address).toBe(':8082');
  });
});

describe('compose/prometheus/prometheus.yml', () => {
  const jobs = new Map(
    (prometheus.scrape_configs as Dict[]).map((j) => [j.job_name as string, j] as const),
  );

  it('when it scrapes, then it reaches Traefik, every provider replica and both councils', () => {
    const targets = (job: string) =>
      ((jobs.get(job)?.static_configs as Dict[]) ?? []).map((s) => ({
        targets: s.targets,
        labels: s.labels,
      }));
    expect(targets('traefik')).toEqual([{ targets: ['traefik:8082'], labels: undefined }]);
    expect(jobs.get('canary-provider')?.dns_sd_configs).toEqual([
      { names: ['provider'], type: 'A', port: 9500, refresh_interval: '30s' },
    ]);
    expect(targets('council')).toEqual([
      { targets: ['council-main:9000'], labels: { split: 'council', variant: 'main' } },
      { targets: ['council-canary:9001'], labels: { split: 'council', variant: 'canary' } },
    ]);
  });
});

describe('compose/canary.env.example', () => {
  it("when read, then it holds the guide's variables with the guide's values", () => {
    const text = fs.readFileSync(path.join(COMPOSE_DIR, 'canary.env.example'), 'utf8');
    const vars = Object.fromEntries(
      text
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(vars).toEqual(GUIDE_CANARY_ENV);
  });

  it('when secrets are filled in, then git ignores the files that hold them', () => {
    const ignored = fs.readFileSync(path.join(COMPOSE_DIR, '.gitignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['.env', 'canary.env', 'canary.env.local']));
  });
});

describe('traefik/traefik.yml', () => {
  const local = load(path.join(ROOT, 'traefik/traefik.yml'));
  const example = YAML.parse(
    fs.readFileSync(path.join(ROOT, 'traefik/splits.example.yaml'), 'utf8'),
  );

  it('when Traefik runs beside a local provider, then it polls 127.0.0.1:9500 with the token placeholder', () => {
    const http = (local.providers as Dict).http as Dict;
    expect(http.endpoint).toBe('http://127.0.0.1:9500/traefik?watch=25s');
    expect(http.headers).toEqual({ Authorization: 'Bearer __PROVIDER_TOKEN__' });
    // The same placeholder as the Compose file, so compose-entrypoint.sh renders either.
    expect(JSON.stringify(http.headers)).toBe(
      JSON.stringify(((staticConfig.providers as Dict).http as Dict).headers),
    );
  });

  it('when it uses held polls, then the hold is longer than pollInterval and shorter than pollTimeout', () => {
    const http = (local.providers as Dict).http as Dict;
    const ms = (d: string): number =>
      Number(/^(\d+)/.exec(d)?.[1]) * (d.endsWith('ms') ? 1 : 1_000);
    const watch = new URL(http.endpoint as string).searchParams.get('watch') ?? '';
    expect([http.pollInterval, watch, http.pollTimeout]).toEqual(['250ms', '25s', '30s']);
    expect(ms(http.pollInterval as string)).toBeLessThan(ms(watch));
    expect(ms(watch)).toBeLessThan(ms(http.pollTimeout as string));
  });

  it('when the example splits name entrypoints, then this configuration defines them, on loopback', () => {
    const eps = local.entryPoints as Record<string, { address: string }>;
    const wanted = Object.values(
      example.splits as Record<string, { router?: { entryPoints?: string[] } }>,
    ).flatMap((s) => s.router?.entryPoints ?? []);
    expect(wanted.length).toBeGreaterThan(0);
    for (const ep of wanted) expect(eps[ep]?.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(eps.traefik.address).toBe('127.0.0.1:8080');
  });
});

describe('compose/docker-compose.sentinel.yml', () => {
  const sentinelOverlay = load(path.join(COMPOSE_DIR, 'docker-compose.sentinel.yml'));
  const services = sentinelOverlay.services as Record<string, Dict>;

  it('when the provider starts with the overlay, then its environment selects Sentinel mode', () => {
    const tokens = { PROVIDER_TOKEN: 'p'.repeat(20), ADMIN_TOKEN: 'a'.repeat(20) };
    const merged = {
      ...env((base.services as Record<string, Dict>).provider),
      ...env(services.provider),
    };
    const parsed = loadEnv(
      Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, interpolate(v, tokens)])),
    );
    expect(redisTargetOf(parsed)).toMatchObject({
      mode: 'sentinel',
      name: 'canary',
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: 'sentinel-2', port: 26379 },
        { host: 'sentinel-3', port: 26379 },
      ],
    });
  });

  it('when the Sentinels start, then all three monitor the base redis under that name with quorum 2', () => {
    for (const name of ['sentinel-1', 'sentinel-2', 'sentinel-3']) {
      const script = (services[name].command as string[]).join('\n');
      expect(script).toMatch(/^\s*sentinel monitor canary redis 6379 2$/m);
      expect(script).toMatch(/exec redis-server \/data\/sentinel\.conf --sentinel/);
    }
    expect(services['redis-replica'].command).toEqual(
      expect.arrayContaining(['--replicaof', 'redis', '6379']),
    );
  });
});
