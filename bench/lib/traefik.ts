import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort, sleep, stopChild, track, exited } from './proc';

// Compiled to dist/bench/lib: the repository is three levels up.
const ROOT = path.resolve(__dirname, '../../..');

/**
 * The Traefik binary to run: TRAEFIK_BIN, else what scripts/install-traefik.sh caches for the
 * pinned version (the same lookup as test/helpers/traefik.ts). The bench never builds Traefik
 * itself: a build takes minutes.
 */
export function resolveTraefik(): { bin: string } | { missing: string } {
  const version = fs.readFileSync(path.join(ROOT, 'scripts/traefik-version.txt'), 'utf8').trim();
  const candidate =
    process.env.TRAEFIK_BIN || path.join(ROOT, '.cache/traefik', version, 'traefik');
  try {
    fs.accessSync(candidate, fs.constants.X_OK);
    if (fs.statSync(candidate).isFile()) return { bin: candidate };
  } catch {
    // reported below
  }
  return {
    missing:
      `no Traefik binary at ${candidate}: build it once with \`bash scripts/install-traefik.sh\` ` +
      '(needs go) or set TRAEFIK_BIN',
  };
}

export function traefikVersion(bin: string): string {
  const out = spawnSync(bin, ['version'], { encoding: 'utf8' }).stdout;
  return /Version:\s+(\S+)/.exec(out)?.[1] ?? out.trim().split('\n')[0];
}

export interface TraefikHandle {
  webUrl: string;
  apiUrl: string;
  readLog(): string;
  /** The Traefik process id (for its CPU time). */
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts Traefik with entryPoints `web` (traffic) and `traefik` (API, /ping) on free loopback
 * ports and the given `providers` block. Resolves when /ping answers.
 */
export async function startTraefik(
  bin: string,
  providers: Record<string, unknown>,
): Promise<TraefikHandle> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-bench-traefik-'));
  const logFile = path.join(dir, 'traefik.log');
  const outFile = path.join(dir, 'output.log');
  const configFile = path.join(dir, 'traefik.yml');
  const web = await freePort();
  let api = await freePort();
  while (api === web) api = await freePort();
  const lifeCycle = { graceTimeOut: '1s' };
  fs.writeFileSync(
    configFile,
    stringify({
      global: { checkNewVersion: false, sendAnonymousUsage: false },
      entryPoints: {
        web: { address: `127.0.0.1:${web}`, transport: { lifeCycle } },
        traefik: { address: `127.0.0.1:${api}`, transport: { lifeCycle } },
      },
      providers,
      api: { insecure: true, dashboard: false },
      ping: { entryPoint: 'traefik' },
      log: { level: 'INFO', filePath: logFile, noColor: true },
    }),
  );
  const out = fs.openSync(outFile, 'a');
  const child = spawn(bin, [`--configFile=${configFile}`], {
    cwd: dir,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  track(child);
  const read = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
  const readLog = (): string => read(logFile) + read(outFile);
  const stop = async (): Promise<void> => {
    await stopChild(child, 5_000);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const apiUrl = `http://127.0.0.1:${api}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited(child)) {
      const log = readLog();
      await stop();
      throw new Error(`Traefik exited at start: ${log.slice(-2_000)}`);
    }
    try {
      const res = await fetch(`${apiUrl}/ping`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      const log = readLog();
      await stop();
      throw new Error(`Traefik /ping did not answer in 20 s: ${log.slice(-2_000)}`);
    }
    await sleep(100);
  }
  return { webUrl: `http://127.0.0.1:${web}`, apiUrl, readLog, pid: child.pid ?? -1, stop };
}
