import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { startBackend, type BackendHandle } from '../helpers/backend-server';
import { freePort, waitUntil } from '../helpers/free-port';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server';
import { ADMIN_TOKEN, startServiceUnderTest, type ServiceUnderTest } from '../helpers/service';
import { requireTraefikBinary } from '../helpers/traefik';

/**
 * The kit against a real Traefik: traefik/traefik.compose.yml, started through
 * traefik/compose-entrypoint.sh exactly as Compose starts it (only addresses changed to free
 * loopback ports, and the Docker provider left out: no Docker here), polling the real service.
 * canary-scale.sh must change what Traefik routes, and canary-rollback.sh with the service stopped
 * must still take the canary out once a provider answers again.
 *
 * Needs the Traefik binary that scripts/install-traefik.sh builds (or TRAEFIK_BIN): without it the
 * suite fails, saying how to get it.
 */

const ROOT = path.resolve(__dirname, '../..');
const PROVIDER_TOKEN = 'deploy-traefik-provider-token-01';
const HOST = 'council.localhost';
const traefikBin = requireTraefikBinary();
const describeWithTraefik = describe;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, file), args, {
      env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** GET through Traefik with Host: council.localhost (fetch drops a Host header, http does not). */
function getCouncil(webUrl: string): Promise<{ status: number; backend: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${webUrl}/`, { headers: { Host: HOST }, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          backend: res.headers['x-backend'] as string | undefined,
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('request through Traefik timed out')));
    req.on('error', reject);
  });
}

/** The share of `n` requests through Traefik that the canary answered. */
async function canaryShare(webUrl: string, n: number): Promise<number> {
  let canary = 0;
  for (let i = 0; i < n; i++) {
    const { status, backend } = await getCouncil(webUrl);
    if (status !== 200) throw new Error(`request ${i} through Traefik answered ${status}`);
    if (backend === 'canary') canary += 1;
  }
  return canary / n;
}

describeWithTraefik('the kit through a real Traefik', () => {
  let redis: RedisServerHandle;
  let main: BackendHandle;
  let canary: BackendHandle;
  let service: ServiceUnderTest;
  let servicePort: number;
  let prefix: string | undefined;
  let traefik: ChildProcess;
  let traefikLog = '';
  let webUrl: string;
  let apiUrl: string;
  let tmp: string;
  let env: Record<string, string>;

  const startProvider = async (): Promise<ServiceUnderTest> =>
    startServiceUnderTest({
      redisUrl: redis.url,
      env: {
        PROVIDER_TOKEN,
        PORT: String(servicePort),
        ...(prefix !== undefined && { KEY_PREFIX: prefix }),
      },
      splits: {
        splits: {
          council: {
            stable: 'main',
            canary: 'canary',
            backends: { main: { servers: [main.url] }, canary: { servers: [canary.url] } },
            defaultWeights: { main: 100, canary: 0 },
            router: { rule: `Host(\`${HOST}\`)`, entryPoints: ['web'] },
          },
        },
      },
    });

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-traefik-'));
    redis = await startRedisServer();
    main = await startBackend('main');
    canary = await startBackend('canary');
    servicePort = await freePort();
    service = await startProvider();
    prefix = service.prefix;

    // traefik.compose.yml as Compose runs it, on free loopback ports.
    const [web, api, metrics] = [await freePort(), await freePort(), await freePort()];
    const config = YAML.parse(
      fs.readFileSync(path.join(ROOT, 'traefik/traefik.compose.yml'), 'utf8'),
    );
    config.entryPoints.web.address = `127.0.0.1:${web}`;
    config.entryPoints.traefik.address = `127.0.0.1:${api}`;
    config.entryPoints.metrics.address = `127.0.0.1:${metrics}`;
    config.providers.http.endpoint = `${service.url}/traefik`;
    config.providers.http.pollInterval = '1s';
    delete config.providers.docker;
    const template = path.join(tmp, 'traefik.compose.yml');
    fs.writeFileSync(template, YAML.stringify(config));
    webUrl = `http://127.0.0.1:${web}`;
    apiUrl = `http://127.0.0.1:${api}`;

    traefik = spawn('/bin/sh', [path.join(ROOT, 'traefik/compose-entrypoint.sh')], {
      env: {
        PATH: process.env.PATH ?? '',
        PROVIDER_TOKEN,
        TRAEFIK_TEMPLATE: template,
        TRAEFIK_RENDERED: path.join(tmp, 'traefik.yml'),
        TRAEFIK_BIN: traefikBin as string,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // A crashed jest run must not leave a proxy listening.
    process.once('exit', () => traefik.kill('SIGKILL'));
    traefik.stdout?.on('data', (d: Buffer) => (traefikLog += d.toString()));
    traefik.stderr?.on('data', (d: Buffer) => (traefikLog += d.toString()));
    await waitUntil(
      'Traefik to route council.localhost',
      async () => (await getCouncil(webUrl)).status === 200,
      30_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nTraefik's output:\n${traefikLog.slice(-4000)}`);
    });

    env = {
      CANARY_URL: service.url,
      CANARY_TOKEN: ADMIN_TOKEN,
      PROVIDER_TOKEN,
      KEY_PREFIX: service.prefix,
      REDIS_PORT: String(redis.port),
      TRAEFIK_URL: webUrl,
      TRAEFIK_API_URL: apiUrl,
      VARIANT_HEADER: 'X-Backend',
    };
  }, 60_000);

  afterAll(async () => {
    if (traefik && traefik.exitCode === null) {
      const exited = new Promise((resolve) => traefik.once('exit', resolve));
      traefik.kill('SIGTERM');
      const timer = setTimeout(() => traefik.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await service?.stop();
    await main?.stop();
    await canary?.stop();
    await redis?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('when Traefik starts from the Compose static configuration, then it polls with the token and serves the split', async () => {
    expect(await canaryShare(webUrl, 20)).toBe(0);
    const r = await run('scripts/test_smoke.sh', [], env);
    expect(r.stdout).toContain('ok    Traefik shows council@http: council-main=100');
    expect(r.code).toBe(0);
  });

  it('when canary-scale.sh 25 runs, then Traefik routes about a quarter of the requests to the canary', async () => {
    const r = await run('scripts/canary-scale.sh', ['25'], env);
    expect(r.code).toBe(0);

    // pollInterval 1 s + providersThrottleDuration 1 s: well within 10 s.
    await waitUntil(
      'Traefik to apply 75/25',
      async () => {
        const res = await fetch(`${apiUrl}/api/http/services/council@http`);
        const body = (await res.json()) as {
          weighted?: { services: { name: string; weight: number }[] };
        };
        return body.weighted?.services.find((s) => s.name === 'council-canary')?.weight === 25;
      },
      10_000,
      100,
    );
    // Traefik's weighted round robin is deterministic (a smooth WRR), so over 400 requests the
    // share is 25 % within a request or two; test_live_cloud.sh's binomial bound is far looser.
    const live = await run('scripts/test_live_cloud.sh', ['-n', '400', '--expect', 'auto'], env);
    expect(live.stdout).toMatch(/ok {2}canary share 2[45]\.\d\d % vs expected 25 %/);
    expect(live.code).toBe(0);
  });

  it('when Traefik starts from traefik/traefik.yml, then it accepts every field (unknown ones stop it) and answers /ping', async () => {
    const [web, api] = [await freePort(), await freePort()];
    const text = fs
      .readFileSync(path.join(ROOT, 'traefik/traefik.yml'), 'utf8')
      .replace("'127.0.0.1:8000'", `'127.0.0.1:${web}'`)
      .replace("'127.0.0.1:8080'", `'127.0.0.1:${api}'`);
    expect(text).toContain(`127.0.0.1:${web}`);
    expect(text).toContain(`127.0.0.1:${api}`);
    const template = path.join(tmp, 'traefik.local.yml');
    fs.writeFileSync(template, text);
    let output = '';
    const local = spawn('/bin/sh', [path.join(ROOT, 'traefik/compose-entrypoint.sh')], {
      env: {
        PATH: process.env.PATH ?? '',
        PROVIDER_TOKEN,
        TRAEFIK_TEMPLATE: template,
        TRAEFIK_RENDERED: path.join(tmp, 'traefik.local.rendered.yml'),
        TRAEFIK_BIN: traefikBin as string,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    local.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    local.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await waitUntil(
        'Traefik on traefik.yml to answer /ping',
        async () =>
          local.exitCode === null && (await fetch(`http://127.0.0.1:${api}/ping`)).status === 200,
        20_000,
        100,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${output.slice(-2000)}`);
      });
      expect(local.exitCode).toBeNull();
    } finally {
      if (local.exitCode === null && local.signalCode === null) {
        const exited = new Promise((resolve) => local.once('exit', resolve));
        local.kill('SIGKILL');
        await exited;
      }
    }
  });

  it('when the service is stopped, then canary-rollback.sh zeroes the canary in Redis and Traefik follows once a provider answers', async () => {
    await service.stop();
    // Traefik keeps routing with what it last applied.
    expect(await canaryShare(webUrl, 40)).toBeGreaterThan(0.1);

    const r = await run('scripts/canary-rollback.sh', [], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("ROLLED BACK THROUGH REDIS, NOT THROUGH THE PROVIDER'S API.");
    expect(redis.cli('HGETALL', `${env.KEY_PREFIX}weights:council`).trim().split('\n')).toEqual(
      expect.arrayContaining(['main', '100', 'canary', '0']),
    );

    service = await startProvider();
    // Traefik's retry backoff after failed polls can stretch to tens of seconds.
    await waitUntil(
      'Traefik to drop the canary',
      async () => {
        const res = await fetch(`${apiUrl}/api/http/services/council@http`);
        const body = (await res.json()) as { weighted?: { services: { name: string }[] } };
        return body.weighted?.services.every((s) => s.name !== 'council-canary') ?? false;
      },
      90_000,
      250,
    );
    expect(await canaryShare(webUrl, 40)).toBe(0);
  }, 120_000);
});

/** GET through Traefik with extra headers; a refused or broken connection counts as status 0. */
function getWith(
  webUrl: string,
  headers: Record<string, string>,
): Promise<{ status: number; backend: string | undefined }> {
  return new Promise((resolve) => {
    const req = http.get(
      `${webUrl}/`,
      { headers: { Host: HOST, ...headers }, timeout: 5_000 },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            backend: res.headers['x-backend'] as string | undefined,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, backend: undefined }));
  });
}

describeWithTraefik("the kit's compose/splits.yaml through a real Traefik", () => {
  let redis: RedisServerHandle;
  let main: BackendHandle;
  let canary: BackendHandle;
  let service: ServiceUnderTest;
  let traefik: ChildProcess;
  let traefikLog = '';
  let webUrl: string;
  let apiUrl: string;
  let tmp: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-kit-splits-'));
    redis = await startRedisServer();
    main = await startBackend('main');
    canary = await startBackend('canary');
    // The kit's file as shipped; only the containers' addresses become loopback ones.
    const text = fs
      .readFileSync(path.join(ROOT, 'compose/splits.yaml'), 'utf8')
      .replace('http://council-main:9000', main.url)
      .replace('http://council-canary:9001', canary.url);
    expect(text).toContain(main.url);
    expect(text).toContain(canary.url);
    service = await startServiceUnderTest({
      redisUrl: redis.url,
      env: { PROVIDER_TOKEN },
      splits: YAML.parse(text),
    });

    const [web, api, metrics] = [await freePort(), await freePort(), await freePort()];
    const config = YAML.parse(
      fs.readFileSync(path.join(ROOT, 'traefik/traefik.compose.yml'), 'utf8'),
    );
    config.entryPoints.web.address = `127.0.0.1:${web}`;
    config.entryPoints.traefik.address = `127.0.0.1:${api}`;
    config.entryPoints.metrics.address = `127.0.0.1:${metrics}`;
    // The kit's endpoint with its query (the held poll), only the address changed.
    const kitEndpoint = new URL(config.providers.http.endpoint as string);
    expect(kitEndpoint.search).toBe('?watch=25s');
    config.providers.http.endpoint = `${service.url}${kitEndpoint.pathname}${kitEndpoint.search}`;
    const template = path.join(tmp, 'traefik.compose.yml');
    fs.writeFileSync(template, YAML.stringify(config));
    webUrl = `http://127.0.0.1:${web}`;
    apiUrl = `http://127.0.0.1:${api}`;
    traefik = spawn('/bin/sh', [path.join(ROOT, 'traefik/compose-entrypoint.sh')], {
      env: {
        PATH: process.env.PATH ?? '',
        PROVIDER_TOKEN,
        TRAEFIK_TEMPLATE: template,
        TRAEFIK_RENDERED: path.join(tmp, 'traefik.yml'),
        TRAEFIK_BIN: traefikBin as string,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    process.once('exit', () => traefik.kill('SIGKILL'));
    traefik.stdout?.on('data', (d: Buffer) => (traefikLog += d.toString()));
    traefik.stderr?.on('data', (d: Buffer) => (traefikLog += d.toString()));
    await waitUntil(
      'Traefik to route council.localhost from the kit splits',
      async () => (await getWith(webUrl, {})).status === 200,
      30_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nTraefik's output:\n${traefikLog.slice(-4000)}`);
    });
    env = {
      CANARY_URL: service.url,
      CANARY_TOKEN: ADMIN_TOKEN,
      PROVIDER_TOKEN,
      KEY_PREFIX: service.prefix,
      TRAEFIK_URL: webUrl,
      TRAEFIK_API_URL: apiUrl,
      VARIANT_HEADER: 'X-Backend',
    };
  }, 60_000);

  afterAll(async () => {
    if (traefik && traefik.exitCode === null) {
      const exited = new Promise((resolve) => traefik.once('exit', resolve));
      traefik.kill('SIGTERM');
      const timer = setTimeout(() => traefik.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await service?.stop();
    await main?.stop();
    await canary?.stop();
    await redis?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('when the canary is at 0 %, then X-Canary: always and the canary cookie still reach it, and nothing else does', async () => {
    const plain = await Promise.all(Array.from({ length: 20 }, () => getWith(webUrl, {})));
    expect(plain.map((r) => `${r.status} ${r.backend}`)).toEqual(Array(20).fill('200 main'));
    const header = await getWith(webUrl, { 'X-Canary': 'always' });
    const cookie = await getWith(webUrl, { Cookie: 'canary=always' });
    expect([header, cookie]).toEqual([
      { status: 200, backend: 'canary' },
      { status: 200, backend: 'canary' },
    ]);
  });

  it('when canary-deploy.sh runs, then it smoke-tests the canary through Traefik at 0 % and then gives it 5 %', async () => {
    const envFile = path.join(tmp, 'canary.env');
    fs.writeFileSync(
      envFile,
      fs
        .readFileSync(path.join(ROOT, 'compose/canary.env.example'), 'utf8')
        .replace(/your_real_key_here/g, 'sk-e2e'),
    );
    const fakeCompose = path.join(tmp, 'fake-compose.sh');
    fs.writeFileSync(fakeCompose, '#!/bin/sh\nexit 0\n', { mode: 0o755 });

    const r = await run('scripts/canary-deploy.sh', ['--env-file', envFile], {
      ...env,
      COMPOSE: fakeCompose,
      COMPOSE_DIR: tmp,
      CANARY_HEALTH_URL: `${canary.url}/health`,
      HEALTH_TIMEOUT: '10',
    });

    expect(r.stdout).toContain(
      'ok    canary through Traefik with X-Canary: always: HTTP 200 from canary',
    );
    expect(r.code).toBe(0);
    expect(redis.cli('HGETALL', `${service.prefix}weights:council`).trim().split('\n')).toEqual(
      expect.arrayContaining(['main', '95', 'canary', '5']),
    );
  }, 60_000);

  it('when main is stopped while the canary serves 100 %, then no request fails', async () => {
    const r = await run('scripts/canary-scale.sh', ['100'], env);
    expect(r.code).toBe(0);
    await waitUntil(
      'Traefik to apply canary 100',
      async () => {
        const res = await fetch(`${apiUrl}/api/http/services/council@http`);
        const body = (await res.json()) as { weighted?: { services: { name: string }[] } };
        return body.weighted?.services.map((s) => s.name).join(',') === 'council-canary';
      },
      15_000,
      100,
    );

    await main.stop();
    // While main is down (as when council-main is recreated for a promotion), and for a few of
    // Traefik's polls after: every request still answered, by the canary.
    const seen: string[] = [];
    const until = Date.now() + 6_000;
    while (Date.now() < until) seen.push(`${(await getWith(webUrl, {})).status}`);
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.filter((s) => s !== '200')).toEqual([]);
  }, 60_000);
});
