import { adminEnvFor, useBuiltCliAndRedis, withOwnService } from '../helpers/cli-fixtures';
import { freePort } from '../../scripts/lib/ports';
import { startOwnRedisServer } from '../../scripts/lib/redis-process';
import {
  ROLLOUT_API_WITHOUT_CONTROLLER,
  runCli,
  startServiceUnderTest,
  SPLITS_WITH_ROLLOUT,
  type ServiceUnderTest,
} from '../helpers/service';

/** canaryctl, the built binary, against the real service on a real Redis. */
const stack = useBuiltCliAndRedis();
let svc: ServiceUnderTest;

beforeEach(async () => {
  svc = await startServiceUnderTest({ redisUrl: stack.redisServer.url });
});

afterEach(async () => {
  await svc.stop();
  await svc.cleanup(stack.redis);
});

const admin = () => adminEnvFor(svc);
const reader = () => ({ CANARY_URL: svc.url });
const weightsKey = (split: string) => `${svc.prefix}weights:${split}`;
const eventsKey = (split: string) => `${svc.prefix}events:${split}`;

/** Every weights hash, audit stream and recorded marker under the service's prefix. */
async function weightKeys(): Promise<string[]> {
  const keys = await Promise.all(
    ['weights', 'events', 'recorded'].map((kind) => stack.redis.keys(`${svc.prefix}${kind}:*`)),
  );
  return keys.flat().sort();
}

/** Everything a write could touch, to compare before and after a refused command. */
async function snapshot(split: string) {
  return {
    weights: await stack.redis.hgetall(weightsKey(split)),
    events: await stack.redis.xrange(eventsKey(split), '-', '+'),
  };
}

async function events(split: string) {
  const entries = await stack.redis.xrevrange(eventsKey(split), '+', '-');
  return entries.map(([id, flat]) => {
    const fields: Record<string, string> = { id };
    for (let i = 0; i < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
    return fields;
  });
}

/** Rows of a printed table, split on runs of blanks, header included. */
function tableRows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

describe('canaryctl status', () => {
  test('when nothing is stored, then the table shows the default weights served', async () => {
    const run = await runCli(['status'], reader());

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rows = tableRows(run.stdout);
    expect(run.stdout.split('\n')[0]).toBe(
      'SPLIT    BACKEND  ROLE    VERSION  STORED  SERVED  SHARE  SOURCE   VALID  STALE',
    );
    expect(rows[1]).toEqual([
      'council',
      'canary',
      'canary',
      '1.5.0',
      '-',
      '0',
      '0%',
      'default',
      'yes',
      'no',
    ]);
    expect(rows[2]).toEqual(['main', 'stable', '1.4.2', '-', '100', '100%']);
    expect(rows[3]).toEqual([
      'search',
      'blue',
      'stable',
      '-',
      '-',
      '100',
      '100%',
      'default',
      'yes',
      'no',
    ]);
  });

  test('when redis-cli stored weights, then status <split> shows them, their shares and the ETag', async () => {
    stack.redisServer.cli('HSET', weightsKey('council'), 'main', '90', 'canary', '10');
    await svc.provider.refresh();

    const run = await runCli(['status', 'council'], reader());

    expect(run.code).toBe(0);
    const rows = tableRows(run.stdout);
    expect(rows[1]).toEqual([
      'council',
      'canary',
      'canary',
      '1.5.0',
      '10',
      '10',
      '10%',
      'redis',
      'yes',
      'no',
    ]);
    expect(rows[2]).toEqual(['main', 'stable', '1.4.2', '90', '90', '90%']);
    expect(run.stdout).toContain(`etag: ${svc.provider.state('council')?.etag}`);
  });

  test('when the stored weights are invalid, then status says so, why, and what is served', async () => {
    stack.redisServer.cli('HSET', weightsKey('council'), 'main', '90', 'canary', 'ten');
    await svc.provider.refresh();

    const run = await runCli(['status', 'council'], reader());

    expect(run.code).toBe(0);
    expect(tableRows(run.stdout)[1]).toEqual([
      'council',
      'canary',
      'canary',
      '1.5.0',
      'ten',
      '0',
      '0%',
      'default',
      'no',
      'no',
    ]);
    expect(run.stdout).toContain('council: the weights stored in Redis are invalid');
    expect(run.stdout).toContain('  - weight of "canary" is "ten", not a non-negative integer');
  });

  test('when --json, then it prints the JSON the API answers', async () => {
    stack.redisServer.cli('HSET', weightsKey('council'), 'main', '75', 'canary', '25');
    await svc.provider.refresh();

    const run = await runCli(['status', '--json'], reader());
    const api = await fetch(`${svc.url}/api/v1/splits`).then((r) => r.json());

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(api);
    expect(JSON.parse(run.stdout).splits[0].weights.served).toEqual({ canary: 25, main: 75 });
  });
});

describe('canaryctl writes', () => {
  test('when set is given every backend, then Redis holds them and the event names the CLI, actor and reason', async () => {
    const run = await runCli(
      ['set', 'council', 'main=75', 'canary=25', '--reason', 'second step', '--actor', 'alice'],
      admin(),
    );

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await stack.redis.hgetall(weightsKey('council'))).toEqual({ main: '75', canary: '25' });
    const [event] = await events('council');
    expect(event).toMatchObject({
      action: 'set',
      source: 'cli',
      actor: 'alice',
      reason: 'second step',
      after: JSON.stringify({ canary: 25, main: 75 }),
    });
    expect(run.stdout).toContain(
      `council: set canary=25 main=75 (by alice via cli, event ${event.id})`,
    );
    expect(tableRows(run.stdout)[2]).toEqual([
      'council',
      'canary',
      'canary',
      '1.5.0',
      '25',
      '25',
      '25%',
      'redis',
      'yes',
      'no',
    ]);
  });

  test('when no --actor is given, then the actor is $USER', async () => {
    const run = await runCli(['scale', 'council', '5'], { ...admin(), USER: 'bob' });

    expect(run.code).toBe(0);
    expect((await events('council'))[0]).toMatchObject({ actor: 'bob', source: 'cli' });
  });

  test('when scale 25, then canary gets 25, stable 75 and every other backend 0', async () => {
    const council = await runCli(['scale', 'council', '25'], admin());
    const search = await runCli(['scale', 'search', '25'], admin());

    expect([council.code, search.code]).toEqual([0, 0]);
    expect(await stack.redis.hgetall(weightsKey('council'))).toEqual({ main: '75', canary: '25' });
    expect(await stack.redis.hgetall(weightsKey('search'))).toEqual({
      blue: '75',
      green: '25',
      shadow: '0',
    });
    expect(council.stdout).toContain('25%');
  });

  test('when rollback after a scale, then stable takes 100 and the event records before and after', async () => {
    await runCli(['scale', 'search', '40'], admin());

    const run = await runCli(['rollback', 'search', '--reason', 'p95 above 1s'], admin());

    expect(run.code).toBe(0);
    expect(await stack.redis.hgetall(weightsKey('search'))).toEqual({
      blue: '100',
      green: '0',
      shadow: '0',
    });
    const [event] = await events('search');
    expect(event).toMatchObject({ action: 'rollback', reason: 'p95 above 1s' });
    expect(JSON.parse(event.before)).toEqual({ blue: 60, green: 40, shadow: 0 });
    expect(run.stdout).toContain('search: rollback blue=60->100 green=40->0 shadow=0');
  });

  test('when promote, then the canary takes 100', async () => {
    const run = await runCli(['promote', 'council'], admin());

    expect(run.code).toBe(0);
    expect(await stack.redis.hgetall(weightsKey('council'))).toEqual({ main: '0', canary: '100' });
    expect((await events('council'))[0]).toMatchObject({ action: 'promote', source: 'cli' });
  });

  test('when --if-match names the current ETag, then the write is made; a stale one is refused with exit 4', async () => {
    const status = await runCli(['status', 'council', '--json'], reader());
    const etag = JSON.parse(status.stdout).etag as string;

    const first = await runCli(['scale', 'council', '10', '--if-match', etag], admin());
    const before = await snapshot('council');
    const second = await runCli(['scale', 'council', '50', '--if-match', etag], admin());

    expect(first.code).toBe(0);
    expect(before.weights).toEqual({ main: '90', canary: '10' });
    expect(second.code).toBe(4);
    expect(second.stderr).toContain('has changed since the version named by If-Match');
    expect(second.stderr).toContain(`current ETag is ${svc.provider.state('council')?.etag}`);
    expect(await snapshot('council')).toEqual(before);
  });
});

describe('canaryctl history', () => {
  test('when three changes were made, then it lists them newest first, and --limit trims the list', async () => {
    await runCli(['scale', 'council', '5', '--reason', 'first'], admin());
    await runCli(['scale', 'council', '25', '--reason', 'second'], admin());
    await runCli(['rollback', 'council', '--reason', 'third'], admin());

    const all = await runCli(['history', 'council'], reader());
    const two = await runCli(['history', 'council', '--limit', '2'], reader());

    expect(all.code).toBe(0);
    const rows = tableRows(all.stdout);
    expect(rows[0]).toEqual(['TIME', 'ACTION', 'SOURCE', 'ACTOR', 'WEIGHTS', 'REASON']);
    expect(rows.slice(1).map((r) => [r[1], r[4], r[5]])).toEqual([
      ['rollback', 'canary=25->0 main=75->100', 'third'],
      ['scale', 'canary=5->25 main=95->75', 'second'],
      ['scale', 'canary=5 main=95', 'first'],
    ]);
    expect(
      tableRows(two.stdout)
        .slice(1)
        .map((r) => r[5]),
    ).toEqual(['third', 'second']);
  });

  test('when --json, then it prints the API events with their stream ids', async () => {
    await runCli(['promote', 'council'], admin());

    const run = await runCli(['history', 'council', '--json'], reader());

    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout);
    expect(body.split).toBe('council');
    expect(body.events.map((e: { id: string }) => e.id)).toEqual(
      (await events('council')).map((e) => e.id),
    );
  });
});

describe('canaryctl exit codes', () => {
  test('when the token is wrong or missing, then it exits 3 and nothing is written', async () => {
    const wrong = await runCli(['scale', 'council', '25'], {
      ...reader(),
      CANARY_TOKEN: 'not-the-admin-token-xx',
    });
    const missing = await runCli(['rollback', 'council'], reader());

    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('the bearer token is wrong');
    expect(wrong.stderr).toContain('CANARY_TOKEN');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('missing `Authorization: Bearer <token>` header');
    expect(await snapshot('council')).toEqual({ weights: {}, events: [] });
  });

  test('when the split is unknown, then it exits 4 naming the declared splits', async () => {
    const write = await runCli(['scale', 'nosuch', '25'], admin());
    const read = await runCli(['status', 'nosuch'], reader());

    expect(write.code).toBe(4);
    expect(write.stderr).toContain(
      'split "nosuch" is not declared in test splits (declared: council, search)',
    );
    expect(read.code).toBe(4);
    expect(await weightKeys()).toEqual([]);
  });

  test('when the percent is out of range, then it exits 4 with the field problem, and nothing is written', async () => {
    await runCli(['scale', 'council', '10'], admin());
    const before = await snapshot('council');

    const run = await runCli(['scale', 'council', '150'], admin());

    expect(run.code).toBe(4);
    expect(run.stderr).toContain(
      'canaryctl: the request body is invalid\n  percent: must be from 0 to 100\n',
    );
    expect(await snapshot('council')).toEqual(before);
  });

  test.each([
    {
      when: 'set names an unknown backend',
      then: 'it exits 4 listing each problem',
      args: ['set', 'council', 'main=1', 'canary=0', 'blue=3'],
      problem: '  weights.blue: is not a backend of "council" (canary, main)',
    },
    {
      when: '--wait is asked of a service that watches no Traefik',
      then: 'it exits 4 and writes nothing',
      args: ['scale', 'council', '25', '--wait', '2s'],
      problem: '?wait=applied needs TRAEFIK_API_URLS',
    },
  ])('when $when, then $then', async ({ args, problem }) => {
    const run = await runCli(args, admin());

    expect(run.code).toBe(4);
    expect(run.stderr).toContain(problem);
    expect(await snapshot('council')).toEqual({ weights: {}, events: [] });
  });

  test('when the service is unreachable, then it exits 6 naming the URL and CANARY_URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;

    const run = await runCli(['status'], { CANARY_URL: url });

    expect(run.code).toBe(6);
    expect(run.stderr).toContain(`cannot reach the canary service at ${url}: connection refused`);
    expect(run.stderr).toContain('set CANARY_URL');
  });

  test.each([
    [['scale', 'council'], 'missing <percent>'],
    [['scale', 'council', 'lots'], '<percent> must be a number, got "lots"'],
    [['set', 'council', 'main'], '"main" is not backend=weight'],
    [['set', 'council', 'main=1', 'main=2'], 'backend "main" is given twice'],
    [['rollback'], 'missing <split>'],
    [['history', 'council', '--limit', 'many'], '--limit must be a whole number'],
    [['scale', 'council', '5', '--frobnicate'], 'unknown option --frobnicate'],
    [['deploy', 'council'], 'unknown command "deploy"'],
    [['rollout', 'launch', 'council'], 'unknown rollout action "launch"'],
    [[], 'no command given'],
  ])('when the command line is %j, then it exits 2 and sends nothing', async (args, message) => {
    const run = await runCli(args, admin());

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
    expect(await weightKeys()).toEqual([]);
  });

  test('when Redis is down, then a write exits 5 and says nothing was changed', async () => {
    const ownRedis = await startOwnRedisServer();
    const service = await startServiceUnderTest({ redisUrl: ownRedis.url });
    try {
      await ownRedis.kill();

      const run = await runCli(['scale', 'council', '25'], adminEnvFor(service));

      expect(run.code).toBe(5);
      expect(run.stderr).toContain('Redis did not take the write; nothing was changed');
    } finally {
      await service.stop();
      await ownRedis.stop();
    }
  });

  test('when --wait times out because a Traefik lags, then it exits 5 naming it, and the write stands', async () => {
    const traefik = `http://127.0.0.1:${await freePort()}`;
    await withOwnService(
      stack,
      (redisUrl) =>
        startServiceUnderTest({
          redisUrl,
          env: { TRAEFIK_API_URLS: traefik, TRAEFIK_POLL_INTERVAL_MS: '100' },
        }),
      async (env, service) => {
        const run = await runCli(['scale', 'council', '25', '--wait', '300ms'], env);
        const status = await runCli(['status', 'council'], env);

        expect(run.code).toBe(5);
        expect(run.stderr).toContain(`not applied within 300 ms by: ${traefik}`);
        expect(await stack.redis.hgetall(`${service.prefix}weights:council`)).toEqual({
          main: '75',
          canary: '25',
        });
        expect(status.code).toBe(0);
        expect(status.stdout).toContain(`council traefik ${traefik}: NOT applied`);
      },
    );
  });

  test('when a rollout is asked of an unknown split, then it exits 4', async () => {
    const run = await runCli(['rollout', 'status', 'nosuch'], reader());

    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/^canaryctl: /);
  });
});

describe('canaryctl rollout', () => {
  test('when a rollout runs, then status prints its progress line, and none for a split without one', async () => {
    await withOwnService(
      stack,
      (redisUrl) => startServiceUnderTest({ redisUrl, splits: SPLITS_WITH_ROLLOUT }),
      async (env) => {
        const before = await runCli(['status'], env);
        const start = await runCli(['rollout', 'start', 'council', '--version', '1.5.0'], env);
        const after = await runCli(['status'], env);
        const one = await runCli(['status', 'council'], env);

        expect(before.code).toBe(0);
        expect(before.stdout).not.toContain('rollout');
        expect(start.code).toBe(0);
        expect(after.code).toBe(0);
        expect(after.stdout).toMatch(/^rollout council 1\.5\.0: progressing, step 1\/4 \(5%\)/m);
        expect(after.stdout.match(/^rollout /gm)).toHaveLength(1);
        expect(one.stdout).toMatch(/^rollout council 1\.5\.0: progressing/m);
      },
    );
  });

  // Against createApp with the rollout router and no controller: every answer is deterministic.
  test('when a rollout is started, paused, resumed and aborted, then Redis follows and each summary is printed', async () => {
    await withOwnService(
      stack,
      (redisUrl) => startServiceUnderTest({ redisUrl, ...ROLLOUT_API_WITHOUT_CONTROLLER }),
      async (admin, app) => {
        const env = { ...admin, USER: 'alice' };
        const state = async () =>
          JSON.parse(
            (await stack.redis.hget(`${app.prefix}rollout:council`, 'state')) ?? 'null',
          ) as {
            status: string;
            version: string;
            startedBy: string;
          } | null;
        const none = await runCli(['rollout', 'status', 'council'], env);
        const start = await runCli(['rollout', 'start', 'council', '--version', '1.5.0'], env);
        const started = await state();
        const again = await runCli(['rollout', 'start', 'council'], env);
        const pause = await runCli(['rollout', 'pause', 'council', '--reason', 'look first'], env);
        const paused = await state();
        const status = await runCli(['rollout', 'status', 'council'], env);
        const resume = await runCli(['rollout', 'resume', 'council'], env);
        const abort = await runCli(['rollout', 'abort', 'council', '--reason', 'red'], env);
        const aborted = await state();

        expect(none.code).toBe(4);
        expect(none.stderr).toContain('has had no rollout yet');
        expect(start.code).toBe(0);
        expect(start.stdout).toBe(
          'council 1.5.0: progressing, step 1/4 (5%), applying, no checks\n',
        );
        expect(started).toMatchObject({
          status: 'progressing',
          version: '1.5.0',
          startedBy: 'alice',
        });
        expect(again.code).toBe(4);
        expect(again.stderr).toContain('is already progressing');
        expect(pause.code).toBe(0);
        expect(paused?.status).toBe('paused');
        expect(status.stdout).toContain(
          'council 1.5.0: paused at step 1/4 (5%) (operator): look first',
        );
        expect(resume.code).toBe(0);
        expect(abort.code).toBe(0);
        expect(abort.stdout).toMatch(/^council 1\.5\.0: rolled back to 0% at .*: red\n$/);
        expect(aborted?.status).toBe('rolled_back');
      },
    );
  });

  test('when the split has no rollout plan, then rollout status exits 4 saying so', async () => {
    await withOwnService(
      stack,
      (redisUrl) => startServiceUnderTest({ redisUrl, ...ROLLOUT_API_WITHOUT_CONTROLLER }),
      async (_admin, app) => {
        const run = await runCli(['rollout', 'status', 'search'], { CANARY_URL: app.url });

        expect(run.code).toBe(4);
        expect(run.stderr).toContain('split "search" has no rollout plan');
      },
    );
  });

  test('when --json, then the rollout view is printed as the API answers it', async () => {
    await withOwnService(
      stack,
      (redisUrl) => startServiceUnderTest({ redisUrl, ...ROLLOUT_API_WITHOUT_CONTROLLER }),
      async (env) => {
        await runCli(['rollout', 'start', 'council'], env);

        const run = await runCli(['rollout', 'status', 'council', '--json'], env);

        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout)).toMatchObject({
          split: 'council',
          status: 'progressing',
          step: 1,
          steps: 4,
          percentages: [5, 25, 50, 100],
        });
      },
    );
  });
});

describe('canaryctl help', () => {
  test('when --help, then it lists every command and the exit codes, and exits 0', async () => {
    const run = await runCli(['--help']);

    expect(run.code).toBe(0);
    for (const command of ['status', 'set', 'scale', 'rollback', 'promote', 'history', 'rollout']) {
      expect(run.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    expect(run.stdout).toContain('6  service unreachable');
  });

  test('when help scale or scale --help, then both print the usage of scale', async () => {
    const a = await runCli(['help', 'scale']);
    const b = await runCli(['scale', '--help']);

    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^Usage: canaryctl scale <split> <percent>/);
    expect(b.stdout).toBe(a.stdout);
  });
});
