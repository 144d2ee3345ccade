import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports';
import { startOwnRedisServer, type RedisServerHandle } from './redis-process';
import { sleep } from './child-process';

export interface SentinelGroupHandle {
  /** The name the Sentinels monitor (REDIS_SENTINEL_NAME). */
  name: string;
  /** The Sentinels as REDIS_SENTINELS expects them: `127.0.0.1:p1,127.0.0.1:p2,…`. */
  sentinels: string;
  sentinelPorts: number[];
  /** The server that was primary at start. */
  primary: RedisServerHandle;
  /** The server started as its replica. */
  replica: RedisServerHandle;
  /** The port of the primary a Sentinel names right now. */
  primaryPort(sentinel?: number): number;
  /** Runs the real `redis-cli` against a Sentinel and returns its stdout. */
  sentinelCli(index: number, ...args: string[]): string;
  /** Kills every process and removes every temp directory. */
  stop(): Promise<void>;
}

function redisCli(port: number, args: string[]): string {
  const r = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`redis-cli -p ${port} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** `INFO`-style `key:value` lines, or the flat field/value list of `SENTINEL MASTER`. */
function fieldsOf(text: string, flat: boolean): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split('\n').map((l) => l.trim());
  if (flat) for (let i = 0; i + 1 < lines.length; i += 2) out.set(lines[i], lines[i + 1]);
  else
    for (const l of lines) {
      const at = l.indexOf(':');
      if (at > 0) out.set(l.slice(0, at), l.slice(at + 1));
    }
  return out;
}

async function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = check();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Starts one primary, one replica (`--replicaof`) and three Sentinels on free loopback ports, each
 * Sentinel with its own config file in a temp dir (Sentinel rewrites it), and waits until every
 * Sentinel sees the replica and the two other Sentinels, so a failover can be voted at once.
 * Quorum 2, down after 1 s, failover timeout 5 s.
 */
export async function startSentinelGroup(name = 'canary'): Promise<SentinelGroupHandle> {
  for (const bin of ['redis-server', 'redis-cli']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) {
      throw new Error(
        `${bin} is not on PATH (Debian/Ubuntu: apt-get install -y redis-server redis-sentinel)`,
      );
    }
  }
  const started: { stop(): Promise<void> }[] = [];
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    await Promise.all(started.map((s) => s.stop()));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  };

  try {
    const primary = await startOwnRedisServer();
    started.push(primary);
    const replica = await startOwnRedisServer(['--replicaof', '127.0.0.1', String(primary.port)]);
    started.push(replica);
    await until(
      'the replica to sync',
      10_000,
      () => fieldsOf(replica.cli('INFO', 'replication'), false).get('master_link_status') === 'up',
    );

    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-sentinel-'));
      dirs.push(dir);
      const conf = path.join(dir, 'sentinel.conf');
      fs.writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          'sentinel resolve-hostnames no',
          `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
      children.push(child);
      await waitForPort(port, 10_000);
      sentinelPorts.push(port);
    }
    for (const port of sentinelPorts) {
      await until(`Sentinel ${port} to see the replica and the other Sentinels`, 20_000, () => {
        const m = fieldsOf(redisCli(port, ['SENTINEL', 'MASTER', name]), true);
        return m.get('num-slaves') === '1' && m.get('num-other-sentinels') === '2';
      });
    }

    const handle: SentinelGroupHandle = {
      name,
      sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
      sentinelPorts,
      primary,
      replica,
      primaryPort: (sentinel = 0) =>
        Number(
          redisCli(sentinelPorts[sentinel], ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name])
            .trim()
            .split('\n')[1],
        ),
      sentinelCli: (index, ...args) => redisCli(sentinelPorts[index], args),
      stop,
    };
    return handle;
  } catch (err) {
    await stop();
    throw err;
  }
}
