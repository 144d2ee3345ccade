import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { freePort, waitUntil } from './free-port';

export interface PrometheusHandle {
  url: string;
  port: number;
  /** Runs an instant query and returns [labels, value] per series (for the test's own waits). */
  query(expr: string): Promise<{ labels: Record<string, string>; value: number }[]>;
  /** Waits until `expr` returns at least one series with a non-NaN value. */
  waitForData(expr: string, timeoutMs?: number): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its temp dir. */
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** `host:port` targets scraped as job "app". */
  targets: string[];
  /** Default 1. */
  scrapeIntervalSeconds?: number;
}

function requireBinary(name: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const bin = found.stdout.trim();
  if (found.status !== 0 || bin === '') {
    throw new Error(
      `${name} is not on PATH. Install it (Debian/Ubuntu: apt-get install -y prometheus; .ci/run does) ` +
        'to run the rollout tests against a real Prometheus.',
    );
  }
  return bin;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts the real Prometheus (Debian's package) on a free loopback port, with a temporary
 * configuration that scrapes `targets` every `scrapeIntervalSeconds` and a temporary TSDB.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusHandle> {
  const bin = requireBinary('prometheus');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-prometheus-'));
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  - job_name: app',
    '    static_configs:',
    `      - targets: [${options.targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n');
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = path.join(dir, 'prometheus.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn(
    bin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);

  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    if (!(await waitExit(child, 5_000))) {
      child.kill('SIGKILL');
      await waitExit(child, 5_000);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitUntil(
      'Prometheus to be ready',
      async () => {
        if (child.exitCode !== null) {
          throw new Error(
            `prometheus exited with ${child.exitCode}: ${fs.readFileSync(logFile, 'utf8')}`,
          );
        }
        const res = await request(`${url}/-/ready`, { headersTimeout: 1_000, bodyTimeout: 1_000 });
        await res.body.dump();
        return res.statusCode === 200;
      },
      20_000,
      100,
    );
  } catch (err) {
    const logText = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
    await stop();
    throw new Error(`${(err as Error).message}\n${logText}`);
  }

  const query = async (expr: string) => {
    const res = await request(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`, {
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
    const body = (await res.body.json()) as {
      data?: { result?: { metric: Record<string, string>; value: [number, string] }[] };
    };
    return (body.data?.result ?? []).map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
  };

  return {
    url,
    port,
    query,
    waitForData: (expr, timeoutMs = 15_000) =>
      waitUntil(
        `Prometheus to have data for ${expr}`,
        async () => (await query(expr)).some((s) => !Number.isNaN(s.value)),
        timeoutMs,
        200,
      ),
    stop,
  };
}
