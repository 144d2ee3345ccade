import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { requireBinary, stopChild, track } from './child-process';
import { freePort, waitUntil } from './ports';

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
  /** `host:port` targets scraped as one job. */
  targets: string[];
  /** The job's name (default "app"). */
  job?: string;
  /** Default 1. */
  scrapeIntervalSeconds?: number;
  /** Prometheus's --log.level (default warn); what it logs is in the error when it fails to start. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** The `prometheus` on PATH; throws MissingToolError saying how to install it. */
export function requirePrometheus(): string {
  return requireBinary(
    'prometheus',
    'Install it (Debian/Ubuntu: apt-get install -y prometheus; .ci/run does) ' +
      'to run the rollout checks against a real Prometheus.',
  );
}

/**
 * Starts the real Prometheus (Debian's package) on a free loopback port, with a temporary
 * configuration that scrapes `targets` every `scrapeIntervalSeconds` and a temporary TSDB: for the
 * tests, the demo and the bench alike.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusHandle> {
  const bin = requirePrometheus();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-prometheus-'));
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    `  - job_name: ${options.job ?? 'app'}`,
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
      `--log.level=${options.logLevel ?? 'warn'}`,
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  track(child);

  const stop = async (): Promise<void> => {
    await stopChild(child, 5_000);
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
