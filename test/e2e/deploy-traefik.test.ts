import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { spawnCaptured, stopChild, type ProcessRun } from '../../scripts/lib/child-process';
import { startBackend, type BackendHandle } from '../../scripts/lib/backend-server';
import { freePort, waitUntil } from '../../scripts/lib/ports';
import { startRedisServer, type RedisServerHandle } from '../../scripts/lib/redis-process';
import { closeTraffic, routeOnce, shareOf } from '../../scripts/lib/traffic';
import { kitScriptEnv, runKitScript } from '../helpers/kit-scripts';
import { waitUntilRouted, waitUntilTraefikShows } from '../helpers/routing-probe';
import { ROOT } from '../../scripts/lib/build-dist';
import { startServiceUnderTest, type ServiceUnderTest } from '../helpers/service';
import { routedCouncil } from '../helpers/splits-file';
import { stopInOrder } from '../helpers/stop-in-order';
import { requireTraefikBinary } from '../../scripts/lib/traefik-process';

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

const ENTRYPOINT = path.join(ROOT, 'traefik/compose-entrypoint.sh');
const PROVIDER_TOKEN = 'deploy-traefik-provider-token-01';
const HOST = 'council.localhost';
const traefikBin = requireTraefikBinary();
const describeWithTraefik = describe;

// After both describes: their requests through Traefik share one pool of connections.
afterAll(closeTraffic);

interface EntrypointTraefik {
  child: ChildProcess;
  /** What Traefik and the entrypoint printed so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/**
 * Starts Traefik as the kit's container does: compose-entrypoint.sh writes PROVIDER_TOKEN into
 * `template` (rendered to `rendered`) and execs the binary on it.
 */
function startThroughEntrypoint(template: string, rendered: string): EntrypointTraefik {
  // Tracked: a crashed jest run must not leave a proxy listening.
  const { child, output } = spawnCaptured('/bin/sh', [ENTRYPOINT], {
    env: {
      PATH: process.env.PATH ?? '',
      PROVIDER_TOKEN,
      TRAEFIK_TEMPLATE: template,
      TRAEFIK_RENDERED: rendered,
      TRAEFIK_BIN: traefikBin,
    },
  });
  return { child, output, stop: () => stopChild(child, 5_000) };
}

interface ComposeTraefik extends EntrypointTraefik {
  webUrl: string;
  apiUrl: string;
}

/**
 * traefik.compose.yml as Compose runs it, on free loopback ports; `editHttpProvider` points its
 * HTTP provider at this test's service. Resolves once Traefik routes council.localhost.
 */
async function startComposeTraefik(
  dir: string,
  editHttpProvider: (http: { endpoint: string; pollInterval?: string }) => void,
): Promise<ComposeTraefik> {
  const [web, api, metrics] = [await freePort(), await freePort(), await freePort()];
  const config = YAML.parse(
    fs.readFileSync(path.join(ROOT, 'traefik/traefik.compose.yml'), 'utf8'),
  );
  config.entryPoints.web.address = `127.0.0.1:${web}`;
  config.entryPoints.traefik.address = `127.0.0.1:${api}`;
  config.entryPoints.metrics.address = `127.0.0.1:${metrics}`;
  editHttpProvider(config.providers.http);
  const template = path.join(dir, 'traefik.compose.yml');
  fs.writeFileSync(template, YAML.stringify(config));

  const traefik = startThroughEntrypoint(template, path.join(dir, 'traefik.yml'));
  const webUrl = `http://127.0.0.1:${web}`;
  try {
    await waitUntilRouted(webUrl, HOST, { timeoutMs: 30_000 });
  } catch (err) {
    await traefik.stop();
    throw new Error(
      `${(err as Error).message}\nTraefik's output:\n${traefik.output().slice(-4000)}`,
    );
  }
  return { ...traefik, webUrl, apiUrl: `http://127.0.0.1:${api}` };
}

interface KitStack {
  tmp: string;
  redis: RedisServerHandle;
  main: BackendHandle;
  canary: BackendHandle;
  service: ServiceUnderTest;
  traefik: ComposeTraefik;
}

/**
 * Registers the hooks around a describe of this file: before its tests a temp folder, Redis and
 * the two council backends; after them, everything stopped, the service and Traefik that the
 * describe's own beforeAll put into the stack included.
 */
function useKitStack(tmpPrefix: string): KitStack {
  const stack = {} as Partial<KitStack>;
  beforeAll(async () => {
    stack.tmp = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
    stack.redis = await startRedisServer();
    stack.main = await startBackend('main');
    stack.canary = await startBackend('canary');
  });
  afterAll(() =>
    stopInOrder(
      stack.traefik,
      stack.service,
      stack.main,
      stack.canary,
      stack.redis,
      () => stack.tmp !== undefined && fs.rmSync(stack.tmp, { recursive: true, force: true }),
    ),
  );
  return stack as KitStack;
}

/** A script through Traefik waits on its polls: a minute, not the default 20 s. */
const runScript = (
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<ProcessRun> => runKitScript(file, args, env, { timeoutMs: 60_000 });

/** The scripts' environment for the stack: its service and Redis, and Traefik in front. */
function throughTraefikEnv(kit: KitStack): Record<string, string> {
  return {
    ...kitScriptEnv({ service: kit.service, redis: kit.redis, providerToken: PROVIDER_TOKEN }),
    TRAEFIK_URL: kit.traefik.webUrl,
    TRAEFIK_API_URL: kit.traefik.apiUrl,
    VARIANT_HEADER: 'X-Backend',
  };
}

describeWithTraefik('the kit through a real Traefik', () => {
  const kit = useKitStack('deploy-traefik-');
  let servicePort: number;
  let prefix: string | undefined;
  let env: Record<string, string>;

  const startProvider = async (): Promise<ServiceUnderTest> =>
    startServiceUnderTest({
      redisUrl: kit.redis.url,
      env: {
        PROVIDER_TOKEN,
        PORT: String(servicePort),
        ...(prefix !== undefined && { KEY_PREFIX: prefix }),
      },
      splits: {
        splits: {
          council: routedCouncil(kit.main, kit.canary, {
            defaultWeights: { main: 100, canary: 0 },
          }),
        },
      },
    });

  beforeAll(async () => {
    servicePort = await freePort();
    kit.service = await startProvider();
    prefix = kit.service.prefix;
    kit.traefik = await startComposeTraefik(kit.tmp, (provider) => {
      provider.endpoint = `${kit.service.url}/traefik`;
      provider.pollInterval = '1s';
    });
    env = throughTraefikEnv(kit);
  }, 60_000);

  it('when Traefik starts from the Compose static configuration, then it polls with the token and serves the split', async () => {
    expect(await shareOf(kit.traefik.webUrl, HOST, 'main', 20)).toBe(1);
    const r = await runScript('scripts/test_smoke.sh', [], env);
    expect(r.stdout).toContain('ok    Traefik shows council@http: council-main=100');
    expect(r.code).toBe(0);
  });

  it('when canary-scale.sh 25 runs, then Traefik routes about a quarter of the requests to the canary', async () => {
    const r = await runScript('scripts/canary-scale.sh', ['25'], env);
    expect(r.code).toBe(0);

    // pollInterval 1 s + providersThrottleDuration 1 s: well within 10 s.
    await waitUntilTraefikShows(
      kit.traefik.apiUrl,
      'council',
      'apply 75/25',
      (services) => services?.find((s) => s.name === 'council-canary')?.weight === 25,
      { timeoutMs: 10_000 },
    );
    // Traefik's weighted round robin is deterministic (a smooth WRR), so over 400 requests the
    // share is 25 % within a request or two; test_live_cloud.sh's binomial bound is far looser.
    const live = await runScript(
      'scripts/test_live_cloud.sh',
      ['-n', '400', '--expect', 'auto'],
      env,
    );
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
    const template = path.join(kit.tmp, 'traefik.local.yml');
    fs.writeFileSync(template, text);
    const local = startThroughEntrypoint(
      template,
      path.join(kit.tmp, 'traefik.local.rendered.yml'),
    );
    try {
      await waitUntil(
        'Traefik on traefik.yml to answer /ping',
        async () =>
          local.child.exitCode === null &&
          (await fetch(`http://127.0.0.1:${api}/ping`)).status === 200,
        20_000,
        100,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${local.output().slice(-2000)}`);
      });
      expect(local.child.exitCode).toBeNull();
    } finally {
      await local.stop();
    }
  });

  it('when the service is stopped, then canary-rollback.sh zeroes the canary in Redis and Traefik follows once a provider answers', async () => {
    await kit.service.stop();
    // Traefik keeps routing with what it last applied.
    expect(await shareOf(kit.traefik.webUrl, HOST, 'canary', 40)).toBeGreaterThan(0.1);

    const r = await runScript('scripts/canary-rollback.sh', [], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("ROLLED BACK THROUGH REDIS, NOT THROUGH THE PROVIDER'S API.");
    expect(kit.redis.cli('HGETALL', `${env.KEY_PREFIX}weights:council`).trim().split('\n')).toEqual(
      expect.arrayContaining(['main', '100', 'canary', '0']),
    );

    kit.service = await startProvider();
    // Traefik's retry backoff after failed polls can stretch to tens of seconds.
    await waitUntilTraefikShows(
      kit.traefik.apiUrl,
      'council',
      'drop the canary',
      (services) => services?.every((s) => s.name !== 'council-canary') ?? false,
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(await shareOf(kit.traefik.webUrl, HOST, 'main', 40)).toBe(1);
  }, 120_000);
});

describeWithTraefik("the kit's compose/splits.yaml through a real Traefik", () => {
  const kit = useKitStack('deploy-kit-splits-');
  let env: Record<string, string>;

  beforeAll(async () => {
    // The kit's file as shipped; only the containers' addresses become loopback ones.
    const text = fs
      .readFileSync(path.join(ROOT, 'compose/splits.yaml'), 'utf8')
      .replace('http://council-main:9000', kit.main.url)
      .replace('http://council-canary:9001', kit.canary.url);
    expect(text).toContain(kit.main.url);
    expect(text).toContain(kit.canary.url);
    kit.service = await startServiceUnderTest({
      redisUrl: kit.redis.url,
      env: { PROVIDER_TOKEN },
      splits: YAML.parse(text),
    });
    kit.traefik = await startComposeTraefik(kit.tmp, (provider) => {
      // The kit's endpoint with its query (the held poll), only the address changed.
      const kitEndpoint = new URL(provider.endpoint);
      expect(kitEndpoint.search).toBe('?watch=25s');
      provider.endpoint = `${kit.service.url}${kitEndpoint.pathname}${kitEndpoint.search}`;
    });
    env = throughTraefikEnv(kit);
  }, 60_000);

  it('when the canary is at 0 %, then X-Canary: always and the canary cookie still reach it, and nothing else does', async () => {
    const { webUrl } = kit.traefik;
    const plain = await Promise.all(Array.from({ length: 20 }, () => routeOnce(webUrl, HOST)));
    expect(plain).toEqual(Array(20).fill('main'));
    const header = await routeOnce(webUrl, HOST, { 'X-Canary': 'always' });
    const cookie = await routeOnce(webUrl, HOST, { Cookie: 'canary=always' });
    expect([header, cookie]).toEqual(['canary', 'canary']);
  });

  it('when canary-deploy.sh runs, then it smoke-tests the canary through Traefik at 0 % and then gives it 5 %', async () => {
    const envFile = path.join(kit.tmp, 'canary.env');
    fs.writeFileSync(
      envFile,
      fs
        .readFileSync(path.join(ROOT, 'compose/canary.env.example'), 'utf8')
        .replace(/your_real_key_here/g, 'sk-e2e'),
    );
    const fakeCompose = path.join(kit.tmp, 'fake-compose.sh');
    fs.writeFileSync(fakeCompose, '#!/bin/sh\nexit 0\n', { mode: 0o755 });

    const r = await runScript('scripts/canary-deploy.sh', ['--env-file', envFile], {
      ...env,
      COMPOSE: fakeCompose,
      COMPOSE_DIR: kit.tmp,
      CANARY_HEALTH_URL: `${kit.canary.url}/health`,
      HEALTH_TIMEOUT: '10',
    });

    expect(r.stdout).toContain(
      'ok    canary through Traefik with X-Canary: always: HTTP 200 from canary',
    );
    expect(r.code).toBe(0);
    expect(
      kit.redis.cli('HGETALL', `${kit.service.prefix}weights:council`).trim().split('\n'),
    ).toEqual(expect.arrayContaining(['main', '95', 'canary', '5']));
  }, 60_000);

  it('when main is stopped while the canary serves 100 %, then no request fails', async () => {
    const r = await runScript('scripts/canary-scale.sh', ['100'], env);
    expect(r.code).toBe(0);
    await waitUntilTraefikShows(
      kit.traefik.apiUrl,
      'council',
      'apply canary 100',
      (services) => services?.map((s) => s.name).join(',') === 'council-canary',
    );

    await kit.main.stop();
    // While main is down (as when council-main is recreated for a promotion), and for a few of
    // Traefik's polls after: every request still answered, by the canary.
    const seen: string[] = [];
    const until = Date.now() + 6_000;
    while (Date.now() < until) seen.push(await routeOnce(kit.traefik.webUrl, HOST));
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.filter((answer) => answer !== 'canary')).toEqual([]);
  }, 60_000);
});
