import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { freePort, waitForPort, waitUntil } from '../../scripts/lib/ports';
import { uniquePrefix } from '../../scripts/lib/redis-process';

/**
 * The runbook's Redis procedures ("Backing up and restoring Redis", "AOF health") against a real
 * redis-server run as Compose runs it (AOF on, everysec, no RDB snapshots), with the container's
 * /data as a local folder: redis-cli for what `docker compose exec redis redis-cli` does, a copy of
 * the folder for `docker compose cp`.
 */

/** redis-server's flags exactly as compose/docker-compose.yml gives them. */
const COMPOSE_REDIS_FLAGS = (() => {
  const compose = YAML.parse(
    fs.readFileSync(path.resolve(__dirname, '../../compose/docker-compose.yml'), 'utf8'),
  ) as { services: { redis: { command: string[] } } };
  const [program, ...flags] = compose.services.redis.command;
  if (program !== 'redis-server')
    throw new Error(`Compose runs ${program} for redis, not redis-server`);
  return flags;
})();

let dataDir: string;
let backupDir: string;
let port: number;
let server: ChildProcess | undefined;

const cli = (...args: string[]): string => {
  const r = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

async function startRedis(): Promise<void> {
  server = spawn(
    'redis-server',
    [
      ...COMPOSE_REDIS_FLAGS,
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dataDir,
      '--daemonize',
      'no',
    ],
    { stdio: 'ignore' },
  );
  await waitForPort(port, 10_000);
  await waitUntil(
    'Redis to finish loading',
    async () => !/^loading:1/m.test(cli('INFO', 'persistence')),
    10_000,
    50,
  );
}

async function stopRedis(): Promise<void> {
  const s = server;
  server = undefined;
  if (!s || s.exitCode !== null) return;
  const exited = new Promise((resolve) => s.once('exit', resolve));
  s.kill('SIGTERM');
  await exited;
}

/** The fields the runbook's AOF health command greps for. */
const aofHealth = (): Record<string, string> =>
  Object.fromEntries(
    cli('INFO', 'persistence')
      .split(/\r?\n/)
      .map((l) => l.split(':'))
      .filter(([k]) =>
        [
          'aof_enabled',
          'aof_last_write_status',
          'aof_last_bgrewrite_status',
          'aof_rewrite_in_progress',
        ].includes(k),
      ),
  );

beforeAll(async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-redis-ops-'));
  dataDir = path.join(root, 'data');
  backupDir = path.join(root, 'backup');
  fs.mkdirSync(dataDir);
  port = await freePort();
  await startRedis();
});
afterAll(async () => {
  await stopRedis();
  fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
});

describe("the runbook's Redis procedures", () => {
  it('when AOF health is read on the stack settings, then it is enabled and both statuses are ok', () => {
    expect(aofHealth()).toEqual({
      aof_enabled: '1',
      aof_last_write_status: 'ok',
      aof_last_bgrewrite_status: 'ok',
      aof_rewrite_in_progress: '0',
    });
  });

  it('when a backup is taken, the data is lost and the backup restored, then weights and audit come back', async () => {
    const prefix = uniquePrefix('redis-ops');
    cli('HSET', `${prefix}weights:council`, 'main', '95', 'canary', '5');
    cli('XADD', `${prefix}audit:council`, '*', 'action', 'scale', 'source', 'cli');

    // Backup: BGREWRITEAOF, wait until done, copy appendonlydir out.
    cli('BGREWRITEAOF');
    await waitUntil(
      'the AOF rewrite to finish',
      async () => aofHealth().aof_rewrite_in_progress === '0',
      10_000,
      50,
    );
    expect(aofHealth().aof_last_bgrewrite_status).toBe('ok');
    fs.cpSync(path.join(dataDir, 'appendonlydir'), backupDir, { recursive: true });

    // What `docker compose down -v` does to the volume.
    await stopRedis();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.mkdirSync(dataDir);
    await startRedis();
    expect(cli('HGETALL', `${prefix}weights:council`).trim()).toBe('');

    // Restore: stop Redis, put the copy back, start it.
    await stopRedis();
    fs.rmSync(path.join(dataDir, 'appendonlydir'), { recursive: true, force: true });
    fs.cpSync(backupDir, path.join(dataDir, 'appendonlydir'), { recursive: true });
    await startRedis();

    expect(cli('HGETALL', `${prefix}weights:council`).trim().split('\n')).toEqual([
      'main',
      '95',
      'canary',
      '5',
    ]);
    expect(cli('XLEN', `${prefix}audit:council`).trim()).toBe('1');
  }, 60_000);
});
