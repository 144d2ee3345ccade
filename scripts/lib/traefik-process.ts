import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { exited, track, waitExit, sleep } from './child-process';
import { writeDefaultCertificate } from './default-certificate';
import { freePort } from './ports';

/** The repository root, from the source tree or from dist/. */
function findRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'scripts', 'traefik-version.txt'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find scripts/traefik-version.txt above ${__dirname}`);
    dir = up;
  }
  return dir;
}

const ROOT = findRoot();
const VERSION_FILE = path.join(ROOT, 'scripts/traefik-version.txt');

/** What to tell a developer whose machine has no Traefik binary yet. */
export const TRAEFIK_MISSING_HINT =
  'Build it once with `scripts/install-traefik.sh` (needs `go`; takes a few minutes), ' +
  'or set TRAEFIK_BIN to an existing Traefik v3 binary.';

/** The Traefik release pinned by scripts/install-traefik.sh, e.g. `v3.6.12`. */
export function pinnedTraefikVersion(): string {
  return fs.readFileSync(VERSION_FILE, 'utf8').trim();
}

/** Where scripts/install-traefik.sh puts the pinned binary. */
export function cachedTraefikPath(): string {
  return path.join(ROOT, '.cache/traefik', pinnedTraefikVersion(), 'traefik');
}

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The Traefik binary the tests should run: TRAEFIK_BIN when set, else the cached build of the
 * pinned version. Undefined when that file is not an executable.
 */
export function resolveTraefikBinary(): string | undefined {
  const candidate = process.env.TRAEFIK_BIN || cachedTraefikPath();
  return isExecutableFile(candidate) ? candidate : undefined;
}

/** The version a Traefik binary reports, e.g. `3.6.12`. */
export function traefikVersion(bin: string): string {
  const out = spawnSync(bin, ['version'], { encoding: 'utf8' }).stdout;
  return /Version:\s+(\S+)/.exec(out)?.[1] ?? out.trim().split('\n')[0];
}

/** Why resolveTraefikBinary found nothing, and how to get the binary. */
export function traefikMissingReason(): string {
  const where = process.env.TRAEFIK_BIN
    ? `TRAEFIK_BIN=${process.env.TRAEFIK_BIN} is not an executable file.`
    : `No Traefik binary at ${cachedTraefikPath()}.`;
  return `${where} ${TRAEFIK_MISSING_HINT}`;
}

/** Like resolveTraefikBinary, but throws an error that says how to get the binary. */
export function requireTraefikBinary(): string {
  const bin = resolveTraefikBinary();
  if (bin !== undefined) return bin;
  throw new Error(traefikMissingReason());
}

export interface StartTraefikOptions {
  /** The binary to run (default: requireTraefikBinary()). */
  bin?: string;
  /** URL that Traefik's HTTP provider polls, e.g. `http://127.0.0.1:4000/traefik`. */
  providerUrl?: string;
  /**
   * The whole `providers` block instead of the HTTP provider built from providerUrl and the
   * options below (e.g. Traefik's own Redis provider, to compare against).
   */
  providers?: Record<string, unknown>;
  /** Sent as `Authorization: Bearer <token>` on every poll. */
  providerToken?: string;
  /**
   * Appended to the endpoint as `?watch=<duration>`: held polls, so a change reaches Traefik as it
   * happens. Keep it longer than pollInterval and shorter than pollTimeout (the shipped setting is
   * `watch: '25s'`, `pollInterval: '250ms'`, `pollTimeout: '30s'`).
   */
  watch?: string;
  /** providers.http.pollInterval (default '1s'). */
  pollInterval?: string;
  /** providers.http.pollTimeout (default '2s'; Traefik's own default is 5s). */
  pollTimeout?: string;
  /** providers.providersThrottleDuration (default '200ms'; Traefik's own default is 2s). */
  throttle?: string;
  /** Merged into the generated static configuration last, so it can override anything. */
  extraStatic?: Record<string, unknown>;
  /** When set, also enables the file provider on this directory (watched). */
  fileProviderDir?: string;
  /**
   * Gives the default TLS store a certificate (self-signed, written for this run), so Traefik does
   * not generate a new RSA key pair on every configuration it applies: a change is then routed in
   * milliseconds instead of tens of them (see scripts/lib/default-certificate.ts). Default false.
   */
  defaultCertificate?: boolean;
  /** log.level (default 'DEBUG': the log is what explains a failed e2e run). */
  logLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** How long to wait for /ping (default 20 s). */
  startTimeoutMs?: number;
  /**
   * Turns on `metrics.prometheus` with service labels, served at `/metrics` on an entryPoint
   * `metrics` of its own (TraefikHandle.metricsUrl). `buckets`: the latency histogram's bucket
   * bounds in seconds (Traefik's default is 0.1, 0.3, 1.2, 5).
   */
  metrics?: boolean | { buckets?: number[] };
}

export interface TraefikHandle {
  /** The `web` entryPoint, e.g. `http://127.0.0.1:41000`: send traffic here. */
  webUrl: string;
  /** The `traefik` entryPoint with the API and /ping, e.g. `http://127.0.0.1:41001`. */
  apiUrl: string;
  /** With the `metrics` option: Traefik's Prometheus endpoint, e.g. `http://127.0.0.1:41002/metrics`. */
  metricsUrl?: string;
  /** Traefik's own log file (log.filePath). */
  logFile: string;
  /** The static configuration file written for this run. */
  configFile: string;
  pid: number | undefined;
  /** SIGTERM, then SIGKILL after 5 s; removes the temp directory. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, not a clean shutdown. The temp directory stays until stop(). */
  kill(): Promise<void>;
  /** Traefik's log so far plus its stdout/stderr, with the provider token redacted. */
  readLog(): string;
}

type PlainObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; anything else in `override` replaces what `base` had. */
function deepMerge(base: PlainObject, override: PlainObject): PlainObject {
  const out: PlainObject = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function readIfExists(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Polls /ping until 200, failing at once if the process exits (a bad config exits within ms). */
async function waitForPing(child: ChildProcess, apiUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (exited(child)) throw new Error(`it exited with ${child.exitCode ?? child.signalCode}`);
    try {
      const res = await fetch(`${apiUrl}/ping`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `/ping answered ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`/ping on ${apiUrl} not 200 within ${timeoutMs} ms (${last})`);
    await sleep(100);
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The static configuration that startTraefik writes (keys as in Traefik v3's static config). */
export function buildStaticConfig(
  options: StartTraefikOptions,
  ports: { web: number; api: number; metrics?: number },
  logFile: string,
  /** A dynamic file for the file provider (the default certificate), when no directory is set. */
  dynamicFile?: string,
): PlainObject {
  // Traefik waits up to graceTimeOut (default 10 s) on SIGTERM; tests want a quick stop.
  const lifeCycle = { graceTimeOut: '1s' };
  const config: PlainObject = {
    // Both would phone home; tests stay on loopback.
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    entryPoints: {
      web: { address: `127.0.0.1:${ports.web}`, transport: { lifeCycle } },
      traefik: { address: `127.0.0.1:${ports.api}`, transport: { lifeCycle } },
    },
    providers: options.providers ?? httpProviders(options, dynamicFile),
    // insecure: the API is served on the `traefik` entryPoint without a router of our own.
    api: { insecure: true, dashboard: false },
    ping: { entryPoint: 'traefik' },
    log: { level: options.logLevel ?? 'DEBUG', filePath: logFile, noColor: true },
  };
  if (options.metrics && ports.metrics !== undefined) {
    (config.entryPoints as PlainObject).metrics = {
      address: `127.0.0.1:${ports.metrics}`,
      transport: { lifeCycle },
    };
    const buckets = typeof options.metrics === 'object' ? options.metrics.buckets : undefined;
    config.metrics = {
      prometheus: {
        entryPoint: 'metrics',
        addServicesLabels: true,
        addEntryPointsLabels: true,
        ...(buckets !== undefined && { buckets }),
      },
    };
  }
  return options.extraStatic ? deepMerge(config, options.extraStatic) : config;
}

/** The HTTP provider polling providerUrl, with the file provider when a directory or file is given. */
function httpProviders(options: StartTraefikOptions, dynamicFile: string | undefined): PlainObject {
  if (options.providerUrl === undefined) {
    throw new Error('startTraefik needs providerUrl (or a providers block of its own)');
  }
  const http: PlainObject = {
    endpoint:
      options.watch === undefined
        ? options.providerUrl
        : `${options.providerUrl}${options.providerUrl.includes('?') ? '&' : '?'}watch=${options.watch}`,
    pollInterval: options.pollInterval ?? '1s',
    pollTimeout: options.pollTimeout ?? '2s',
  };
  if (options.providerToken !== undefined) {
    http.headers = { Authorization: `Bearer ${options.providerToken}` };
  }
  const providers: PlainObject = {
    providersThrottleDuration: options.throttle ?? '200ms',
    http,
  };
  if (options.fileProviderDir !== undefined) {
    providers.file = { directory: options.fileProviderDir, watch: true };
  } else if (dynamicFile !== undefined) {
    providers.file = { filename: dynamicFile };
  }
  return providers;
}

/**
 * Starts the real Traefik with a static configuration written for this run: entryPoint `web` and
 * the API/ping entryPoint `traefik` on free loopback ports, the HTTP provider polling
 * `providerUrl`. Resolves once /ping answers 200; on failure the error carries the log tail.
 */
export async function startTraefik(options: StartTraefikOptions): Promise<TraefikHandle> {
  const bin = options.bin ?? requireTraefikBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-traefik-'));
  const logFile = path.join(dir, 'traefik.log');
  const outputFile = path.join(dir, 'output.log');
  const configFile = path.join(dir, 'traefik.yml');

  const web = await freePort();
  let api = await freePort();
  for (let i = 0; api === web && i < 10; i += 1) api = await freePort();
  let metrics: number | undefined;
  if (options.metrics) {
    metrics = await freePort();
    for (let i = 0; (metrics === web || metrics === api) && i < 10; i += 1) {
      metrics = await freePort();
    }
  }

  let dynamicFile: string | undefined;
  if (options.defaultCertificate) {
    const cert = writeDefaultCertificate(dir);
    dynamicFile = cert.dynamicFile;
    // The file provider reads one directory or one file: with a directory, the certificate's
    // dynamic file goes into it.
    if (options.fileProviderDir !== undefined) {
      fs.copyFileSync(
        cert.dynamicFile,
        path.join(options.fileProviderDir, path.basename(cert.dynamicFile)),
      );
    }
  }
  fs.writeFileSync(
    configFile,
    stringify(buildStaticConfig(options, { web, api, metrics }, logFile, dynamicFile)),
  );

  // Traefik logs to log.filePath once its configuration is loaded; anything before that (a bad
  // flag, a config that does not parse) only reaches stdout/stderr.
  const output = fs.openSync(outputFile, 'a');
  const child = spawn(bin, [`--configFile=${configFile}`], {
    cwd: dir,
    stdio: ['ignore', output, output],
  });
  fs.closeSync(output);
  track(child);

  // At DEBUG, Traefik logs its static configuration, provider headers included: keep the token
  // out of what tests print (failure messages end up in CI logs).
  const token = options.providerToken;
  const readLog = (): string => {
    const text = readIfExists(logFile) + readIfExists(outputFile);
    return token ? text.split(token).join('<providerToken>') : text;
  };
  const apiUrl = `http://127.0.0.1:${api}`;
  const webUrl = `http://127.0.0.1:${web}`;

  const kill = async (): Promise<void> => {
    if (exited(child)) return;
    child.kill('SIGKILL');
    await waitExit(child, 5_000);
  };
  let removed = false;
  const stop = async (): Promise<void> => {
    if (!exited(child)) {
      child.kill('SIGTERM');
      if (!(await waitExit(child, 5_000))) await kill();
    }
    if (!removed) {
      removed = true;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    await waitForPing(child, apiUrl, options.startTimeoutMs ?? 20_000);
  } catch (err) {
    const log = tail(readLog(), 40);
    await stop();
    throw new Error(
      `Traefik (${bin}) did not start: ${(err as Error).message}\n--- log tail ---\n${log}`,
      { cause: err },
    );
  }

  return {
    webUrl,
    apiUrl,
    ...(metrics !== undefined && { metricsUrl: `http://127.0.0.1:${metrics}/metrics` }),
    logFile,
    configFile,
    pid: child.pid,
    stop,
    kill,
    readLog,
  };
}
