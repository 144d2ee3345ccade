/**
 * `npm run demo` as a user runs it: the built demo started as a child process with stdout not a
 * TTY, so its live view is plain lines. Real redis-server, Traefik and Prometheus; traffic through
 * Traefik. `npx canaryctl scale` must move the share Traefik routes, Ctrl-C must leave no process
 * behind, and the tour must exit 0.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, buildDist } from '../../scripts/lib/build-dist';
import { sleep, spawnCaptured } from '../../scripts/lib/child-process';
import { requireTraefikBinary } from '../../scripts/lib/traefik-process';

jest.setTimeout(90_000);

const DEMO = path.join(ROOT, 'dist/scripts/demo.js');

interface Demo {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first line (after `from` characters of output) that `match` accepts. */
  waitForLine(what: string, match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

function startDemo(args: string[] = []): Demo {
  const { child, output } = spawnCaptured(process.execPath, [DEMO, ...args], {
    cwd: ROOT,
    // PORT=0: the service on a free port; REDIS_URL unset: the demo's own throwaway redis-server.
    env: { ...process.env, PORT: '0', REDIS_URL: '', TRAEFIK_BIN: requireTraefikBinary() },
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForLine = async (
    what: string,
    match: (line: string) => boolean,
    timeoutMs = 30_000,
  ): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = output().split('\n').find(match);
      if (found !== undefined) return found;
      if (child.exitCode !== null) throw new Error(`demo exited before ${what}:\n${output()}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms:\n${output()}`);
      await sleep(100);
    }
  };
  return { child, output, waitForLine, exited };
}

/** Every live process whose parent chain leads to `root` (Linux /proc). */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') parents.set(Number(entry), Number(fields[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    for (const [child, parent] of parents) {
      if (parent === pid) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch {
    return '?';
  }
}

/** `canary served=25% routed=23% (12)` → { served: 25, routed: 23, count: 12 }. */
function cell(line: string, backend: string): { served: number; routed: number; count: number } {
  const m = new RegExp(`${backend} served=(\\d+)% routed=(\\d+)% \\((\\d+)\\)`).exec(line);
  if (!m) throw new Error(`no ${backend} cell in "${line}"`);
  return { served: Number(m[1]), routed: Number(m[2]), count: Number(m[3]) };
}

const started: Demo[] = [];
afterAll(async () => {
  for (const d of started) {
    if (d.child.exitCode === null && d.child.signalCode === null) {
      d.child.kill('SIGINT');
      await d.exited;
    }
  }
});

beforeAll(async () => {
  // The demo is run from dist/, as `npm run demo` does after its build.
  const result = await buildDist();
  if (!result.ok) throw new Error(`build failed:\n${result.output}`);
}, 120_000);

describe('npm run demo', () => {
  it('when canaryctl scales the canary to 25 %, then the live view shows Traefik routing about a quarter to it, and Ctrl-C stops every child', async () => {
    const demo = startDemo();
    started.push(demo);
    const serviceUrl = (await demo.waitForLine('service URL', (l) => /^ {2}service /.test(l)))
      .trim()
      .split(/\s+/)[1];
    const token = (await demo.waitForLine('admin token', (l) => /^ {2}admin token /.test(l)))
      .trim()
      .split(/\s+/)[2];
    expect(demo.output()).toContain(`npx canaryctl scale council 25`);
    expect(demo.output()).toMatch(/redis-cli -p \d+ HSET canary:weights:council canary 0/);

    // Before: everything served to and routed to main, with real traffic flowing.
    const before = await demo.waitForLine(
      'a live line with traffic routed (Traefik has its configuration)',
      (l) => l.startsWith('live council:') && / error=0$/.test(l) && cell(l, 'main').count >= 10,
    );
    expect(cell(before, 'main')).toMatchObject({ served: 100, routed: 100 });
    expect(cell(before, 'canary')).toMatchObject({ served: 0, routed: 0, count: 0 });

    // The children the demo started: redis-server, Traefik, Prometheus.
    const children = descendants(demo.child.pid as number);
    const commands = children.map((pid) => path.basename(commandOf(pid).split(' ')[0]));
    expect(commands).toEqual(expect.arrayContaining(['redis-server', 'traefik', 'prometheus']));

    const scale = spawnSync('npx', ['--offline', 'canaryctl', 'scale', 'council', '25'], {
      cwd: ROOT,
      env: { ...process.env, CANARY_URL: serviceUrl, CANARY_TOKEN: token },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(scale.stderr).toBe('');
    expect(scale.status).toBe(0);

    // The first live line with canary traffic may count a second that straddles the switch; the
    // live line after it counts a whole second routed with the new weights (50 requests/s).
    const fromLine = demo.output().split('\n').length - 1;
    const liveLines = (): { line: string; index: number }[] => {
      const lines = demo.output().split('\n');
      return lines
        .slice(fromLine, lines.length - 1)
        .map((line, i) => ({ line, index: fromLine + i }))
        .filter(({ line }) => line.startsWith('live council:'));
    };
    const deadline0 = Date.now() + 30_000;
    let after: string | undefined;
    while (after === undefined && Date.now() < deadline0) {
      const live = liveLines();
      const switched = live.find(({ line }) => {
        const c = cell(line, 'canary');
        return c.served === 25 && c.routed > 0 && cell(line, 'main').routed < 100;
      });
      if (switched) after = live.find(({ index }) => index > switched.index)?.line;
      if (after === undefined) await sleep(100);
    }
    if (after === undefined)
      throw new Error(`no whole second routed to the canary:\n${demo.output()}`);
    const canary = cell(after, 'canary');
    expect(canary.routed).toBeGreaterThanOrEqual(5);
    expect(canary.routed).toBeLessThanOrEqual(50);
    expect(demo.output()).toMatch(
      /event \d\d:\d\d:\d\d {2}scale \(cli[^)]*\) {2}canary 25 \/ main 75/,
    );

    demo.child.kill('SIGINT');
    const exit = await demo.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const deadline = Date.now() + 10_000;
    while (children.some(alive) && Date.now() < deadline) {
      await sleep(100);
    }
    expect(children.filter(alive).map((pid) => `${pid} ${commandOf(pid)}`)).toEqual([]);
  });

  it('when run with --tour, then it narrates 5 % → 25 % → an automatic rollback and exits 0', async () => {
    const demo = startDemo(['--tour']);
    started.push(demo);
    const exit = await demo.exited;
    const out = demo.output();
    expect({ exit, out }).toMatchObject({ exit: { code: 0, signal: null } });
    const narration = out.split('\n').filter((l) => l.startsWith('tour '));
    expect(narration.map((l) => l.slice(0, 8))).toEqual([
      'tour 1/4',
      'tour 1/4',
      'tour 2/4',
      'tour 2/4',
      'tour 3/4',
      'tour 3/4',
      'tour 4/4',
    ]);
    expect(narration[5]).toMatch(
      /^tour 3\/4: the rollout controller rolled canary back to 0 % \(check error-ratio failed at 0\.\d+\)$/,
    );
    expect(narration[6]).toBe('tour 4/4: done — Traefik routed 100 % to main in the last second');
    expect(out).toMatch(
      /event \d\d:\d\d:\d\d {2}rollback \(controller, [^)]+\) {2}canary 0 \/ main 100/,
    );
  });
});
