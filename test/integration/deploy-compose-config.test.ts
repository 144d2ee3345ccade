import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BASE_STACK_SERVICES, GUIDE_CANARY_ENV } from '../helpers/compose-kit';
import { ROOT } from '../../scripts/lib/build-dist';

/**
 * The Compose files loaded by the Compose Specification's own Go loader (what `docker compose
 * config` runs), through compose/tools/compose-config: schema, interpolation, env files, extends
 * and !reset are checked as Docker Compose would, without a Docker engine. Needs `go`; the first
 * build fetches the loader from the Go module proxy.
 */

const COMPOSE_DIR = path.join(ROOT, 'compose');
const TOOL_DIR = path.join(COMPOSE_DIR, 'tools/compose-config');
const TOKENS = {
  PROVIDER_TOKEN: 'provider-token-0123456789abcdef',
  ADMIN_TOKEN: 'admin-token-0123456789abcdef',
  GRAFANA_ADMIN_PASSWORD: 'grafana-password',
  COUNCIL_IMAGE: 'registry.example/council@sha256:' + '1'.repeat(64),
  COUNCIL_CANARY_IMAGE: 'registry.example/council@sha256:' + '2'.repeat(64),
  RUNBOOK_BASE_URL: 'https://git.example/canary/blob/main',
};

interface Port {
  host_ip?: string;
  target: number;
  published?: string;
}
interface Service {
  image?: string;
  ports?: Port[] | null;
  labels?: Record<string, string>;
  environment?: Record<string, string>;
  networks?: Record<string, { aliases?: string[] } | null>;
  command?: string[];
  volumes?: { type: string; source: string; target: string }[];
}
interface Project {
  services: Record<string, Service>;
}

let tmp: string;
let tool: string;

beforeAll(() => {
  const go = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' });
  if (go.status !== 0)
    throw new Error("go is not on PATH: compose-config is built with the machine's go.");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-compose-config-'));
  tool = path.join(tmp, 'compose-config');
  const build = spawnSync('go', ['build', '-o', tool, '.'], {
    cwd: TOOL_DIR,
    encoding: 'utf8',
    timeout: 280_000,
  });
  if (build.status !== 0) throw new Error(`go build of ${TOOL_DIR} failed:\n${build.stderr}`);
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Loads the files from a clean environment plus `env`, ignoring any compose/.env. */
function load(
  files: string[],
  env: Record<string, string>,
): { status: number | null; project?: Project; stderr: string } {
  const r = spawnSync(tool, files, {
    cwd: COMPOSE_DIR,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', COMPOSE_CONFIG_IGNORE_DOTENV: '1', ...env },
    timeout: 30_000,
  });
  return {
    status: r.status,
    stderr: r.stderr,
    project: r.status === 0 ? (JSON.parse(r.stdout) as Project) : undefined,
  };
}

const FILES = ['docker-compose.yml', 'docker-compose.canary.yml'];
const CANARY_ENV = { CANARY_ENV_FILE: 'canary.env.example' };

describe('Compose files through the Compose Specification loader', () => {
  it('when a token is missing, then loading fails and names every missing variable', () => {
    const r = load(['docker-compose.yml'], {});

    expect(r.status).not.toBe(0);
    for (const name of [
      'PROVIDER_TOKEN',
      'ADMIN_TOKEN',
      'GRAFANA_ADMIN_PASSWORD',
      'COUNCIL_IMAGE',
      'RUNBOOK_BASE_URL',
    ]) {
      expect(r.stderr).toContain(`required variable ${name} is missing a value`);
    }
  });

  it('when canary.env does not exist, then the canary overlay refuses to load', () => {
    const r = load(FILES, { ...TOKENS, CANARY_ENV_FILE: 'no-such-canary.env' });

    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('no-such-canary.env');
  });

  it('when the stack and the canary overlay load, then every service, port and label resolves as intended', () => {
    const r = load(FILES, { ...TOKENS, ...CANARY_ENV });
    expect(r.stderr).toBe('');
    const s = r.project!.services;

    expect(Object.keys(s).sort()).toEqual([...BASE_STACK_SERVICES, 'council-canary'].sort());
    const ports = Object.fromEntries(
      Object.entries(s).map(([name, svc]) => [
        name,
        (svc.ports ?? []).map((p) => `${p.host_ip}:${p.published}:${p.target}`),
      ]),
    );
    expect(ports).toEqual({
      traefik: ['127.0.0.1:80:80', '127.0.0.1:8080:8080'],
      redis: ['127.0.0.1:6379:6379'],
      provider: ['127.0.0.1:9500-9503:9500'],
      alertmanager: ['127.0.0.1:9093:9093'],
      'council-main': ['127.0.0.1:9000:9000'],
      'council-canary': ['127.0.0.1:9001:9001'],
      prometheus: ['127.0.0.1:9090:9090'],
      grafana: ['127.0.0.1:3000:3000'],
    });
    expect(s.redis.command).toEqual([
      'redis-server',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
    ]);
    expect(s.provider.environment).toMatchObject({
      PROVIDER_TOKEN: TOKENS.PROVIDER_TOKEN,
      ADMIN_TOKEN: TOKENS.ADMIN_TOKEN,
      KEY_PREFIX: 'canary:',
      REDIS_URL: 'redis://redis:6379',
    });
    expect(s.traefik.environment?.PROVIDER_TOKEN).toBe(TOKENS.PROVIDER_TOKEN);
    expect(s.provider.environment?.SLACK_WEBHOOK_URL).toBe('');
    expect(s['council-main'].image).toBe(TOKENS.COUNCIL_IMAGE);
    expect(s['council-canary'].image).toBe(TOKENS.COUNCIL_CANARY_IMAGE);
    // The provider declares the routes: no container carries Traefik labels.
    for (const svc of Object.values(s)) expect(svc.labels ?? {}).toEqual({});
    // The councils share no network with Redis or the provider.
    for (const name of ['council-main', 'council-canary']) {
      expect(Object.keys(s[name].networks ?? {})).toEqual(['edge']);
    }
    for (const name of ['redis', 'provider']) {
      expect(Object.keys(s[name].networks ?? {})).toEqual(['control']);
    }
  });

  it('when SLACK_WEBHOOK_URL is set, then the provider and Alertmanager both get it', () => {
    const hook = 'https://hooks.slack.example/services/T0/B0/x';
    const s = load(['docker-compose.yml'], { ...TOKENS, SLACK_WEBHOOK_URL: hook }).project!
      .services;

    expect(s.provider.environment?.SLACK_WEBHOOK_URL).toBe(hook);
    expect(s.alertmanager.environment?.SLACK_WEBHOOK_URL).toBe(hook);
  });

  it("when the canary loads, then canary.env's variables reach its environment", () => {
    const s = load(FILES, { ...TOKENS, ...CANARY_ENV }).project!.services;

    expect(s['council-canary'].environment).toEqual({ PORT: '9001', ...GUIDE_CANARY_ENV });
  });

  it('when compose/.env is beside the first file, then the tool reads it as Compose does', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'dotenv-'));
    for (const f of ['docker-compose.yml', 'splits.yaml']) {
      fs.copyFileSync(path.join(COMPOSE_DIR, f), path.join(dir, f));
    }
    fs.writeFileSync(
      path.join(dir, '.env'),
      Object.entries(TOKENS)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    );
    // Run from elsewhere, as the documented command does: .env is found by the file's folder.
    const r = spawnSync(tool, [path.join(dir, 'docker-compose.yml')], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    const s = (JSON.parse(r.stdout) as Project).services;
    expect(s.provider.environment?.ADMIN_TOKEN).toBe(TOKENS.ADMIN_TOKEN);
  });

  it('when the replicas overlay loads, then provider-2 is the provider without host ports, reachable as `provider`', () => {
    const r = load(['docker-compose.yml', 'docker-compose.replicas.yml'], TOKENS);
    expect(r.stderr).toBe('');
    const s = r.project!.services;

    expect(s['provider-2'].ports ?? []).toEqual([]);
    expect(s['provider-2'].networks?.control?.aliases).toEqual(['provider']);
    expect(s['provider-2'].environment).toEqual(s.provider.environment);
    expect(s['provider-2'].volumes).toEqual(s.provider.volumes);
    expect(s['provider-2'].image).toBe(s.provider.image);
  });
});

describe('the Sentinel overlay through the Compose Specification loader', () => {
  it('when it loads, then the provider asks three Sentinels for the primary instead of REDIS_URL', () => {
    const r = load(['docker-compose.yml', 'docker-compose.sentinel.yml'], TOKENS);
    expect(r.stderr).toBe('');
    const s = r.project!.services;

    const e = s.provider.environment!;
    expect(e.REDIS_URL).toBe('');
    expect(e.REDIS_SENTINEL_NAME).toBe('canary');
    const sentinels = e.REDIS_SENTINELS.split(',');
    expect(sentinels).toEqual(['sentinel-1:26379', 'sentinel-2:26379', 'sentinel-3:26379']);
    for (const hostPort of sentinels) {
      const name = hostPort.split(':')[0];
      const script = s[name].command!.join(' ');
      expect(script).toContain('sentinel monitor canary redis 6379 2');
      expect(script).toContain('port 26379');
      expect(s[name].networks).toHaveProperty('control');
    }
    expect(s['redis-replica'].command).toEqual(expect.arrayContaining(['--replicaof', 'redis']));
    expect(s['redis-replica'].networks).toHaveProperty('control');
    // The provider keeps everything else from the base file.
    expect(e.SPLITS_FILE).toBe('/config/splits.yaml');
  });
});
