import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { ProcessRun } from '../../scripts/lib/child-process';
import { freePort } from '../../scripts/lib/ports';
import {
  startOwnRedisServer,
  startRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import { spawnSync } from 'node:child_process';
import { hashFromCli, kitScriptEnv, runKitScript } from '../helpers/kit-scripts';
import { ADMIN_TOKEN, startServiceUnderTest, type ServiceUnderTest } from '../helpers/service';
import { adminEnvFor } from '../helpers/cli-fixtures';
import { ROOT } from '../../scripts/lib/build-dist';

/**
 * The guide's scripts, run for real (bash, curl, jq, redis-cli) against a real redis-server and the
 * real service started in this process. The service answers while a script runs, so scripts are
 * spawned asynchronously. Each test works under its own service key prefix.
 */

const PROVIDER_TOKEN = 'scripts-test-provider-token-0123';

/** A tiny HTTP server whose answers a test scripts; records every request. */
async function stubServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void,
): Promise<{ url: string; requests: http.IncomingMessage[]; stop(): Promise<void> }> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    req.resume();
    handler(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const hash = (redis: RedisServerHandle, key: string): Record<string, string> =>
  hashFromCli(redis.cli('HGETALL', key));

/** Runs `body` with a stubServer answering by `handler`, and stops it after, whatever `body` did. */
async function withStubServer(
  handler: Parameters<typeof stubServer>[0],
  body: (stub: Awaited<ReturnType<typeof stubServer>>) => Promise<void>,
): Promise<void> {
  const stub = await stubServer(handler);
  try {
    await body(stub);
  } finally {
    await stub.stop();
  }
}

/** A stubServer handler that answers every request as the provider answers an error. */
const answersProblem =
  (status: number, detail: string): Parameters<typeof stubServer>[0] =>
  (_req, res) =>
    res
      .writeHead(status, { 'Content-Type': 'application/problem+json' })
      .end(JSON.stringify({ detail }));

let redis: RedisServerHandle;
let tmp: string;

beforeAll(async () => {
  redis = await startRedisServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-scripts-'));
});
afterAll(async () => {
  await redis?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('with the service running', () => {
  let service: ServiceUnderTest;
  let env: Record<string, string>;
  const key = () => `${service.prefix}weights:council`;

  beforeEach(async () => {
    service = await startServiceUnderTest({
      redisUrl: redis.url,
      env: { PROVIDER_TOKEN },
    });
    env = {
      ...kitScriptEnv({ service, redis, providerToken: PROVIDER_TOKEN }),
      CANARY_ACTOR: 'jest@deploy-scripts',
    };
  });
  afterEach(async () => {
    await service.stop();
  });

  const served = async (): Promise<Record<string, number>> => {
    const res = await fetch(`${service.url}/traefik`, {
      headers: { Authorization: `Bearer ${PROVIDER_TOKEN}` },
    });
    const body = (await res.json()) as {
      http: {
        services: Record<string, { weighted?: { services: { name: string; weight: number }[] } }>;
      };
    };
    return Object.fromEntries(
      (body.http.services.council.weighted?.services ?? []).map((s) => [s.name, s.weight]),
    );
  };

  it('when canary-scale.sh 25 runs, then Redis, GET /traefik and the audit trail show 75/25', async () => {
    const r = await runKitScript('scripts/canary-scale.sh', ['25'], env);

    expect(r.stderr).toContain("split 'council' now serves: canary 25 %, main 75 %");
    expect(r.code).toBe(0);
    expect(hash(redis, key())).toEqual({ main: '75', canary: '25' });
    expect(await served()).toEqual({ 'council-main': 75, 'council-canary': 25 });
    const history = (await (
      await fetch(`${service.url}/api/v1/splits/council/history?limit=1`)
    ).json()) as { events: Record<string, unknown>[] };
    expect(history.events[0]).toMatchObject({
      action: 'scale',
      source: 'cli',
      actor: 'jest@deploy-scripts',
      reason: 'canary-scale.sh 25',
    });
  });

  it.each([['101'], ['-5'], ['abc'], ['2.5']])(
    'when canary-scale.sh gets %s, then it exits 64 and writes nothing',
    async (arg) => {
      const r = await runKitScript('scripts/canary-scale.sh', [arg], env);
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(/percent must be an integer from 0 to 100|unknown option/);
      expect(hash(redis, key())).toEqual({});
    },
  );

  it('when canary-scale.sh has a wrong token, then it exits 77 naming CANARY_TOKEN and writes nothing', async () => {
    const r = await runKitScript('scripts/canary-scale.sh', ['25'], {
      ...env,
      CANARY_TOKEN: 'wrong-token-0123456789',
    });
    expect(r.code).toBe(77);
    expect(r.stderr).toContain('Set CANARY_TOKEN');
    expect(hash(redis, key())).toEqual({});
  });

  it('when canary-scale.sh names an unknown split, then it exits 64 with the service detail', async () => {
    const r = await runKitScript('scripts/canary-scale.sh', ['25'], { ...env, SPLIT: 'nope' });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('split "nope" is not declared');
  });

  it('when the service has just started, then every rollback and weight-change series of each split is already 0', async () => {
    const metrics = await (await fetch(`${service.url}/metrics`)).text();

    for (const trigger of ['analysis', 'api', 'cli', 'controller', 'external']) {
      expect(metrics).toMatch(
        new RegExp(
          `^swarm_rollback_events_total\\{split="council",trigger="${trigger}"\\} 0$`,
          'm',
        ),
      );
    }
    for (const source of ['api', 'cli', 'controller', 'external']) {
      expect(metrics).toMatch(
        new RegExp(`^swarm_weight_changes_total\\{split="council",source="${source}"\\} 0$`, 'm'),
      );
    }
  });

  it('when canary-rollback.sh runs, then the API rolls back, audits it and counts it as a cli rollback', async () => {
    await runKitScript('scripts/canary-scale.sh', ['25'], env);

    const r = await runKitScript('scripts/canary-rollback.sh', ['--reason', 'p95 red'], env);

    expect(r.code).toBe(0);
    expect(r.stderr).toContain('rolled back: split');
    expect(r.stderr).not.toContain('REDIS');
    expect(hash(redis, key())).toEqual({ main: '100', canary: '0' });
    expect(await served()).toEqual({ 'council-main': 100 });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^swarm_rollback_events_total\{split="council",trigger="cli"\} 1$/m);
  });

  it('when test_smoke.sh runs against a healthy service, then its four checks pass', async () => {
    const r = await runKitScript('scripts/test_smoke.sh', [], env);

    expect(r.stdout).toContain('ok    GET /traefik serves council: council-main=100');
    expect(r.stdout).toContain('test_smoke.sh: 4 of 4 checks ok');
    expect(r.code).toBe(0);
  });

  it('when test_smoke.sh has the wrong provider token, then it fails the /traefik check', async () => {
    const r = await runKitScript('scripts/test_smoke.sh', [], {
      ...env,
      PROVIDER_TOKEN: 'nope-nope-nope-nope',
    });

    expect(r.stdout).toContain('FAIL  GET /traefik: HTTP 401');
    expect(r.stdout).toContain('test_smoke.sh: 3 of 4 checks ok');
    expect(r.code).toBe(1);
  });

  it('when test_smoke.sh is asked about the canary and Traefik, then it checks them too', async () => {
    const canary = await stubServer((_req, res) => res.writeHead(200).end('ok'));
    const traefikApi = await stubServer((req, res) => {
      res.writeHead(req.url === '/api/http/services/council@http' ? 200 : 404, {
        'Content-Type': 'application/json',
      });
      res.end(JSON.stringify({ weighted: { services: [{ name: 'council-main', weight: 100 }] } }));
    });
    try {
      const r = await runKitScript('scripts/test_smoke.sh', [], {
        ...env,
        CANARY_HEALTH_URL: `${canary.url}/health`,
        TRAEFIK_API_URL: traefikApi.url,
      });
      expect(r.stdout).toContain('ok    Traefik shows council@http: council-main=100');
      expect(r.stdout).toContain('test_smoke.sh: 6 of 6 checks ok');
      expect(r.code).toBe(0);
    } finally {
      await canary.stop();
      await traefikApi.stop();
    }
  });

  it('when test_live_cloud.sh counts answers through a proxy at 25 %, then the counts and --expect auto agree', async () => {
    await runKitScript('scripts/canary-scale.sh', ['25'], env);
    // Stands in for Traefik: every 4th answer comes from the canary.
    await withStubServer(
      (_req, res, n) =>
        res.writeHead(200, { 'X-Council-Variant': n % 4 === 0 ? 'canary' : 'main' }).end('ok'),
      async (proxy) => {
        const r = await runKitScript(
          'scripts/test_live_cloud.sh',
          ['-n', '200', '--expect', 'auto'],
          {
            ...env,
            TRAEFIK_URL: proxy.url,
          },
        );
        expect(r.stdout).toMatch(/^ {2}canary +50 +25\.00 %$/m);
        expect(r.stdout).toMatch(/^ {2}main +150 +75\.00 %$/m);
        expect(r.stdout).toContain('ok  canary share 25.00 % vs expected 25 %');
        expect(r.code).toBe(0);
        expect(proxy.requests).toHaveLength(200);
        expect(new Set(proxy.requests.map((q) => q.headers.host))).toEqual(
          new Set(['council.localhost']),
        );
      },
    );
  });

  it('when test_live_cloud.sh --canary runs, then every request carries X-Canary: always and must reach the canary', async () => {
    await withStubServer(
      (req, res) =>
        res
          .writeHead(200, {
            'X-Council-Variant': req.headers['x-canary'] === 'always' ? 'canary' : 'main',
          })
          .end(),
      async (proxy) => {
        const r = await runKitScript('scripts/test_live_cloud.sh', ['-n', '20', '--canary'], {
          ...env,
          TRAEFIK_URL: proxy.url,
        });
        expect(r.stdout).toMatch(/ok {2}canary share 100\.00 % vs expected 100 %/);
        expect(r.code).toBe(0);
        expect(proxy.requests.map((q) => q.headers['x-canary'])).toEqual(Array(20).fill('always'));

        const without = await runKitScript('scripts/test_live_cloud.sh', ['-n', '20', '--canary'], {
          ...env,
          TRAEFIK_URL: proxy.url,
          OVERRIDE_HEADER: 'X-Canary: never',
        });
        expect(without.code).toBe(1);
      },
    );
  });

  it('when test_live_cloud.sh sees a share far from the expected one or errors, then it fails', async () => {
    await withStubServer(
      (_req, res, n) =>
        res
          .writeHead(n % 10 === 0 ? 502 : 200, { 'X-Council-Variant': n % 2 ? 'canary' : 'main' })
          .end(),
      async (proxy) => {
        const r = await runKitScript('scripts/test_live_cloud.sh', ['-n', '100', '--expect', '5'], {
          ...env,
          TRAEFIK_URL: proxy.url,
        });
        expect(r.stdout).toContain('FAIL  10 of 100 requests did not answer 2xx/3xx');
        expect(r.stdout).toMatch(/FAIL {2}canary share 50\.00 % vs expected 5 %/);
        expect(r.code).toBe(1);
      },
    );
  });

  describe('canary-deploy.sh', () => {
    let canary: Awaited<ReturnType<typeof stubServer>>;
    let traefik: Awaited<ReturnType<typeof stubServer>>;
    /** The canary's stored weight each time a request with X-Canary: always reached "Traefik". */
    let overrideSeenAt: (string | undefined)[];
    let composeLog: string;
    let deployEnv: Record<string, string>;
    const envFile = (keys: string) => {
      const file = path.join(tmp, `canary-${Math.random().toString(36).slice(2)}.env`);
      fs.writeFileSync(
        file,
        fs
          .readFileSync(path.join(ROOT, 'compose/canary.env.example'), 'utf8')
          .replace(/your_real_key_here/g, keys),
      );
      return file;
    };

    beforeEach(async () => {
      canary = await stubServer((_req, res) => res.writeHead(200).end('ok'));
      overrideSeenAt = [];
      // Stands in for Traefik's web entrypoint with the split's override: X-Canary: always reaches
      // the canary. It notes the canary's weight in Redis at that moment.
      traefik = await stubServer((req, res) => {
        const toCanary =
          req.headers['x-canary'] === 'always' && req.headers.host === 'council.localhost';
        if (toCanary) overrideSeenAt.push(hash(redis, key()).canary);
        res.writeHead(200, { 'X-Council-Variant': toCanary ? 'canary' : 'main' }).end('ok');
      });
      composeLog = path.join(tmp, `compose-${Math.random().toString(36).slice(2)}.log`);
      // Stands in for `docker compose`: records its arguments and the env file it was given.
      const fakeCompose = path.join(tmp, 'fake-compose.sh');
      fs.writeFileSync(
        fakeCompose,
        '#!/usr/bin/env bash\nprintf "%s\\n" "$*" "CANARY_ENV_FILE=$CANARY_ENV_FILE" >>"$COMPOSE_LOG"\n',
        { mode: 0o755 },
      );
      deployEnv = {
        ...env,
        COMPOSE: fakeCompose,
        COMPOSE_LOG: composeLog,
        CANARY_HEALTH_URL: `${canary.url}/health`,
        TRAEFIK_URL: traefik.url,
        HEALTH_TIMEOUT: '10',
      };
    });
    afterEach(async () => {
      await canary.stop();
      await traefik.stop();
    });

    it('when run as docs/deployment.md says (tokens only in compose/.env), then the canary is smoke-tested at 0 % and then reaches 5 %', async () => {
      // compose/.env made the documented way: .env.example with the tokens filled in.
      const composeDir = fs.mkdtempSync(path.join(tmp, 'compose-'));
      fs.writeFileSync(
        path.join(composeDir, '.env'),
        fs
          .readFileSync(path.join(ROOT, 'compose/.env.example'), 'utf8')
          .replace(/^PROVIDER_TOKEN=.*$/m, `PROVIDER_TOKEN=${PROVIDER_TOKEN}`)
          .replace(/^ADMIN_TOKEN=.*$/m, `ADMIN_TOKEN=${ADMIN_TOKEN}`),
      );
      fs.writeFileSync(path.join(composeDir, 'canary.env'), fs.readFileSync(envFile('sk-test-1')));

      const r = await runKitScript('scripts/canary-deploy.sh', [], {
        // What the docs ask for, plus where this test's stack listens.
        ...adminEnvFor(service),
        COMPOSE_DIR: composeDir,
        COMPOSE: deployEnv.COMPOSE,
        COMPOSE_LOG: composeLog,
        CANARY_HEALTH_URL: deployEnv.CANARY_HEALTH_URL,
        TRAEFIK_URL: traefik.url,
      });

      expect(r.stderr).not.toContain('rolling the canary back');
      expect(r.code).toBe(0);
      expect(hash(redis, key())).toEqual({ main: '95', canary: '5' });
      // The override request came before any weight was written: the canary had no share.
      expect(overrideSeenAt).toEqual([undefined]);
      expect(r.stdout).toContain(
        'ok    canary through Traefik with X-Canary: always: HTTP 200 from canary',
      );
      expect(r.stdout).toContain('test_smoke.sh: 6 of 6 checks ok');
      expect(r.stdout).toContain('test_smoke.sh: 5 of 5 checks ok');
    });

    it('when --env-file is relative, then it is the file in the folder the command ran from', async () => {
      const file = envFile('sk-test-rel');

      const r = await runKitScript(
        'scripts/canary-deploy.sh',
        ['--env-file', path.basename(file)],
        deployEnv,
        {
          cwd: path.dirname(file),
        },
      );

      expect(r.code).toBe(0);
      expect(fs.readFileSync(composeLog, 'utf8').split('\n')).toContain(`CANARY_ENV_FILE=${file}`);
    });

    it('when the env file is complete, then it starts the overlay, sets 5 %, smoke-tests and says where to watch', async () => {
      const file = envFile('sk-test-123');

      const r = await runKitScript('scripts/canary-deploy.sh', ['--env-file', file], deployEnv);

      expect(r.code).toBe(0);
      expect(fs.readFileSync(composeLog, 'utf8').split('\n')).toEqual([
        `-f ${ROOT}/compose/docker-compose.yml -f ${ROOT}/compose/docker-compose.canary.yml up -d council-canary`,
        `CANARY_ENV_FILE=${file}`,
        '',
      ]);
      expect(canary.requests.map((q) => q.url)).toContain('/health');
      expect(hash(redis, key())).toEqual({ main: '95', canary: '5' });
      expect(r.stdout).toContain('test_smoke.sh: 6 of 6 checks ok');
      expect(r.stdout).toContain('test_smoke.sh: 5 of 5 checks ok');
      expect(r.stdout).toContain('The canary serves 5 % of council.');
      expect(r.stdout).toContain('http://127.0.0.1:3000/d/canary-council');
    });

    it('when an API key is still the placeholder, then it refuses before touching anything', async () => {
      const r = await runKitScript(
        'scripts/canary-deploy.sh',
        ['--env-file', envFile('your_real_key_here')],
        deployEnv,
      );

      expect(r.code).toBe(64);
      expect(r.stderr).toContain('MISTRAL_API_KEY still reads your_real_key_here');
      expect(r.stderr).toContain('OPENAI_API_KEY still reads your_real_key_here');
      expect(fs.existsSync(composeLog)).toBe(false);
      expect(hash(redis, key())).toEqual({});
    });

    it('when the canary already has traffic, then it refuses unless --force', async () => {
      await runKitScript('scripts/canary-scale.sh', ['25'], env);
      const file = envFile('sk-test-123');

      const refused = await runKitScript(
        'scripts/canary-deploy.sh',
        ['--env-file', file],
        deployEnv,
      );
      expect(refused.code).toBe(64);
      expect(refused.stderr).toContain('the canary already serves 25 % of council');
      expect(fs.existsSync(composeLog)).toBe(false);

      const forced = await runKitScript(
        'scripts/canary-deploy.sh',
        ['--env-file', file, '--force', '--percent', '10'],
        deployEnv,
      );
      expect(forced.code).toBe(0);
      expect(hash(redis, key())).toEqual({ main: '90', canary: '10' });
    });

    it.each<{
      when: string;
      then: string;
      broken: Record<string, string>;
      output: 'stdout' | 'stderr';
      says: string;
    }>([
      {
        when: 'the smoke test fails before the first step',
        then: 'the canary never gets a share and it exits 1',
        broken: { PROVIDER_TOKEN: 'not-the-provider-token' },
        output: 'stderr',
        says: 'the smoke test failed before the canary got any share',
      },
      {
        when: 'the canary does not answer through the override',
        then: 'it gets no share',
        broken: { OVERRIDE_HEADER: 'X-Canary: never' },
        output: 'stdout',
        says: 'FAIL  canary through Traefik with X-Canary: never',
      },
    ])('when $when, then $then', async ({ broken, output, says }) => {
      const r = await runKitScript(
        'scripts/canary-deploy.sh',
        ['--env-file', envFile('sk-test-123')],
        {
          ...deployEnv,
          ...broken,
        },
      );

      expect(r.code).toBe(1);
      expect(r[output]).toContain(says);
      expect(hash(redis, key())).toEqual({});
    });

    it('when --dry-run, then it checks and prints, and changes nothing', async () => {
      const r = await runKitScript(
        'scripts/canary-deploy.sh',
        ['--env-file', envFile('sk-test-123'), '--dry-run'],
        deployEnv,
      );

      expect(r.code).toBe(0);
      expect(r.stderr).toContain('would run:');
      expect(r.stderr).toMatch(/would run: .*canary-scale\.sh --reason .* 5/);
      expect(fs.existsSync(composeLog)).toBe(false);
      expect(hash(redis, key())).toEqual({});
    });
  });
});

describe('canary-rollback.sh without the API', () => {
  let prefix: string;
  let env: Record<string, string>;
  const key = () => `${prefix}weights:council`;
  /** canary-rollback.sh with the provider's API at `url` (a stub standing in for it). */
  const rollbackWithProviderAt = (url: string, args: string[] = []) =>
    runKitScript('scripts/canary-rollback.sh', args, { ...env, CANARY_URL: url });

  beforeEach(async () => {
    // A real service sets the canary to 25 % and is then stopped: nothing listens at CANARY_URL.
    const service = await startServiceUnderTest({ redisUrl: redis.url });
    prefix = service.prefix;
    env = kitScriptEnv({ service, redis });
    const r = await runKitScript('scripts/canary-scale.sh', ['25'], env);
    expect(r.code).toBe(0);
    await service.stop();
  });

  it('when the service is stopped, then it zeroes the canary in Redis with redis-cli and says so loudly', async () => {
    const r = await runKitScript('scripts/canary-rollback.sh', [], env);

    expect(r.code).toBe(0);
    expect(r.stderr).toContain('API ROLLBACK FAILED: the provider did not answer');
    expect(r.stderr).toContain("ROLLED BACK THROUGH REDIS, NOT THROUGH THE PROVIDER'S API.");
    expect(r.stderr).toContain(`Wrote: HSET ${key()} main 100 canary 0`);
    expect(r.stderr).toContain('Traefik keeps its LAST configuration');
    expect(hash(redis, key())).toEqual({ main: '100', canary: '0' });
  });

  it('when the stable backend was at 0 (after a promote), then the fallback restores it to 100, never all zero', async () => {
    redis.cli('HSET', key(), 'main', '0', 'canary', '100', 'shadow', '7');

    const r = await runKitScript('scripts/canary-rollback.sh', [], env);

    expect(r.code).toBe(0);
    expect(hash(redis, key())).toEqual({ main: '100', canary: '0', shadow: '0' });
  });

  it('when Redis is reached through REDIS_URL, then the fallback uses it', async () => {
    const r = await runKitScript('scripts/canary-rollback.sh', [], {
      ...env,
      REDIS_PORT: '1',
      REDIS_URL: redis.url,
    });

    expect(r.code).toBe(0);
    expect(hash(redis, key())).toEqual({ main: '100', canary: '0' });
  });

  it('when the provider answers 503, then it falls back to Redis too', async () => {
    await withStubServer(answersProblem(503, 'Redis is unavailable'), async (sick) => {
      const r = await rollbackWithProviderAt(sick.url);
      expect(r.stderr).toContain('the provider answered HTTP 503: Redis is unavailable');
      expect(r.code).toBe(0);
      expect(sick.requests).toHaveLength(1);
      expect(hash(redis, key())).toEqual({ main: '100', canary: '0' });
    });
  });

  it('when the provider refuses the token, then it does not bypass it through Redis', async () => {
    await withStubServer(answersProblem(401, 'wrong token'), async (guarded) => {
      const r = await rollbackWithProviderAt(guarded.url);
      expect(r.code).toBe(77);
      expect(r.stderr).toContain('use --redis to write to Redis directly');
      expect(hash(redis, key())).toEqual({ main: '75', canary: '25' });
    });
  });

  it('when --redis is given, then it writes to Redis without calling the API', async () => {
    await withStubServer(
      (_req, res) => res.writeHead(200).end('{}'),
      async (api) => {
        const r = await rollbackWithProviderAt(api.url, ['--redis']);
        expect(r.code).toBe(0);
        expect(api.requests).toHaveLength(0);
        expect(hash(redis, key())).toEqual({ main: '100', canary: '0' });
      },
    );
  });

  it('when the key holds the wrong type, then it exits 69 and says nothing changed', async () => {
    redis.cli('DEL', key());
    redis.cli('SET', key(), 'oops');

    const r = await runKitScript('scripts/canary-rollback.sh', [], env);

    expect(r.code).toBe(69);
    expect(r.stderr).toContain('WRONGTYPE');
    expect(r.stderr).toContain('NOTHING WAS CHANGED');
    expect(redis.cli('GET', key()).trim()).toBe('oops');
  });

  it('when Redis does not answer either, then it exits 69 and says nothing changed', async () => {
    const r = await runKitScript('scripts/canary-rollback.sh', [], {
      ...env,
      REDIS_PORT: String(await freePort()),
    });

    expect(r.code).toBe(69);
    expect(r.stderr).toContain('did not answer either');
    expect(r.stderr).toContain('NOTHING WAS CHANGED');
    expect(hash(redis, key())).toEqual({ main: '75', canary: '25' });
  });
});

describe('canary-rollback.sh against a Redis with a password', () => {
  const PASSWORD = 'rollback-test-pw';
  let secured: RedisServerHandle;
  let prefix: string;
  const key = () => `${prefix}weights:council`;
  /** redis-cli with the password in the environment, so no warning lands in what is parsed. */
  const cli = (...args: string[]): string => {
    const r = spawnSync('redis-cli', ['-p', String(secured.port), ...args], {
      encoding: 'utf8',
      env: { ...process.env, REDISCLI_AUTH: PASSWORD },
    });
    if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const securedHash = (): Record<string, string> => hashFromCli(cli('HGETALL', key()));
  const rollback = async (env: Record<string, string>): Promise<ProcessRun> =>
    runKitScript('scripts/canary-rollback.sh', [], {
      // Nothing listens here: the API step fails and the script falls back to redis-cli.
      CANARY_URL: `http://127.0.0.1:${await freePort()}`,
      CANARY_TOKEN: ADMIN_TOKEN,
      KEY_PREFIX: prefix,
      ...env,
    });

  beforeAll(async () => {
    secured = await startOwnRedisServer(['--requirepass', PASSWORD]);
  });
  afterAll(async () => {
    await secured?.stop();
  });
  beforeEach(() => {
    prefix = uniquePrefix('rollback-pw');
    // After a promote: the canary serves everything.
    cli('HSET', key(), 'main', '0', 'canary', '100');
  });

  it('when REDIS_URL is redis://:password@host, then the hash holds main 100 canary 0 and the password is never printed', async () => {
    const r = await rollback({ REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${secured.port}` });

    expect(securedHash()).toEqual({ main: '100', canary: '0' });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("ROLLED BACK THROUGH REDIS, NOT THROUGH THE PROVIDER'S API.");
    expect(r.stderr).toContain('redis://***@127.0.0.1');
    expect(r.stderr).not.toContain(PASSWORD);
  });

  it('when REDIS_URL names the user and percent-escapes the password, then the rollback lands', async () => {
    const r = await rollback({
      REDIS_URL: `redis://default:${encodeURIComponent(PASSWORD).replace(/-/g, '%2D')}@127.0.0.1:${secured.port}/0`,
    });

    expect(securedHash()).toEqual({ main: '100', canary: '0' });
    expect(r.code).toBe(0);
  });

  it('when REDIS_CLI passes -a (redis-cli warns on stderr), then the warning never becomes a field', async () => {
    const r = await rollback({ REDIS_CLI: `redis-cli -p ${secured.port} -a ${PASSWORD}` });

    expect(securedHash()).toEqual({ main: '100', canary: '0' });
    expect(r.code).toBe(0);
  });

  it('when REDIS_PASSWORD goes with REDIS_HOST/REDIS_PORT, then the rollback lands', async () => {
    const r = await rollback({ REDIS_PORT: String(secured.port), REDIS_PASSWORD: PASSWORD });

    expect(securedHash()).toEqual({ main: '100', canary: '0' });
    expect(r.code).toBe(0);
  });

  it('when no password is given, then NOAUTH is reported, it exits 69 and the hash is untouched', async () => {
    const r = await rollback({ REDIS_PORT: String(secured.port) });

    expect(r.code).toBe(69);
    expect(r.stderr).toContain('NOAUTH');
    expect(r.stderr).toContain('NOTHING WAS CHANGED');
    expect(securedHash()).toEqual({ main: '0', canary: '100' });
  });

  it('when the password is wrong and redis-cli prints a warning first, then the NOAUTH after it is still caught', async () => {
    const r = await rollback({ REDIS_CLI: `redis-cli -p ${secured.port} -a wrong-password` });

    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/NOAUTH|WRONGPASS/);
    expect(r.stderr).not.toContain('ROLLED BACK THROUGH REDIS');
    expect(securedHash()).toEqual({ main: '0', canary: '100' });
  });
});

describe('traefik/compose-entrypoint.sh', () => {
  let fakeTraefik: string;

  beforeAll(() => {
    // Stands in for the traefik binary: prints its arguments and the configuration it was given.
    fakeTraefik = path.join(tmp, 'fake-traefik.sh');
    fs.writeFileSync(fakeTraefik, '#!/bin/sh\necho "args: $*"\ncat "${1#--configFile=}"\n', {
      mode: 0o755,
    });
  });

  const entrypoint = (token: string | undefined) => {
    const rendered = path.join(tmp, `traefik-${Math.random().toString(36).slice(2)}.yml`);
    return runKitScript('traefik/compose-entrypoint.sh', [], {
      ...(token !== undefined && { PROVIDER_TOKEN: token }),
      TRAEFIK_TEMPLATE: path.join(ROOT, 'traefik/traefik.compose.yml'),
      TRAEFIK_RENDERED: rendered,
      TRAEFIK_BIN: fakeTraefik,
    }).then((r) => ({ ...r, rendered }));
  };

  it('when PROVIDER_TOKEN is set, then Traefik starts on a private copy that sends it as a bearer token', async () => {
    const r = await entrypoint('0123456789abcdef0123456789abcdef');

    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`args: --configFile=${r.rendered}`);
    const config = YAML.parse(fs.readFileSync(r.rendered, 'utf8'));
    expect(config.providers.http.headers).toEqual({
      Authorization: 'Bearer 0123456789abcdef0123456789abcdef',
    });
    expect(fs.statSync(r.rendered).mode & 0o077).toBe(0);
  });

  it.each([
    ['unset', undefined, 'PROVIDER_TOKEN is empty'],
    ['with a character sed or YAML would mangle', 'abc&def|ghi', 'PROVIDER_TOKEN may use only'],
  ])(
    'when PROVIDER_TOKEN is %s, then it refuses to start Traefik',
    async (_what, token, message) => {
      const r = await entrypoint(token);

      expect(r.code).toBe(64);
      expect(r.stderr).toContain(message);
      expect(r.stdout).toBe('');
    },
  );
});
