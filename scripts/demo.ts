/**
 * `npm run demo`: the service on the example splits, with two demo backends and, when REDIS_URL is
 * not set, a throwaway local redis-server. Prints what to try. Ctrl-C stops everything.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { loadEnv } from '../src/config/env';
import { parseSplitsDocument } from '../src/config/splits';
import { createLogger } from '../src/log/logger';
import { startService } from '../src/service';
import { startLocalTraefik } from './lib/local-traefik';
import { freePort, waitForPort } from './lib/ports';

const ROOT = path.resolve(__dirname, '..', '..');

async function startRedis(cleanup: (() => void)[]): Promise<string> {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new Error(
      'REDIS_URL is not set and redis-server is not on PATH. Install it ' +
        '(Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis) ' +
        'or set REDIS_URL=redis://host:6379.',
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-demo-redis-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    found.stdout.trim(),
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  );
  cleanup.push(() => {
    child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitForPort(port, 10_000);
  return `redis://127.0.0.1:${port}`;
}

function startBackend(name: string, port: number): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.setHeader('X-Backend', name);
    res.setHeader('Content-Type', 'application/json');
    res.end(`${JSON.stringify({ backend: name })}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function main(): Promise<void> {
  const cleanup: (() => void)[] = [];
  const stopAll = (): void => {
    for (const f of cleanup.reverse()) {
      try {
        f();
      } catch {
        // best effort on the way out
      }
    }
  };
  process.once('SIGINT', () => (stopAll(), process.exit(0)));
  process.once('SIGTERM', () => (stopAll(), process.exit(0)));

  try {
    const redisUrl = process.env.REDIS_URL || (await startRedis(cleanup));
    const adminToken = process.env.ADMIN_TOKEN || crypto.randomBytes(18).toString('base64url');

    // The example splits, with the demo backends on free ports.
    const doc = YAML.parse(
      fs.readFileSync(path.join(ROOT, 'traefik', 'splits.example.yaml'), 'utf8'),
    );
    const council = doc.splits.council;
    for (const backend of ['main', 'canary']) {
      const port = await freePort();
      const server = await startBackend(backend, port);
      cleanup.push(() => server.close());
      council.backends[backend].servers = [`http://127.0.0.1:${port}`];
    }
    const splits = parseSplitsDocument(doc, 'traefik/splits.example.yaml (demo ports)');

    const env = loadEnv({ ...process.env, REDIS_URL: redisUrl, ADMIN_TOKEN: adminToken });
    const service = await startService(env, createLogger(process.env.LOG_LEVEL ?? 'warn'), splits);
    cleanup.push(() => void service.stop());

    const traefik = await startLocalTraefik({
      providerUrl: `${service.url}/traefik`,
      providerToken: env.PROVIDER_TOKEN,
    });
    if (traefik) cleanup.push(() => void traefik.stop());

    const prefix = env.KEY_PREFIX;
    const lines = [
      '',
      'traefik-canary-provider demo is running.',
      '',
      `  service      ${service.url}`,
      `  redis        ${redisUrl}${process.env.REDIS_URL ? '' : ' (throwaway, removed on exit)'}`,
      `  admin token  ${adminToken}`,
      traefik
        ? `  traefik      ${traefik.webUrl}  (dashboard/API ${traefik.apiUrl})`
        : '  traefik      not started: run scripts/install-traefik.sh to build it, then npm run demo again',
      '',
      'Try:',
      `  curl -s ${service.url}/traefik            # what Traefik is told`,
      `  curl -s ${service.url}/api/v1/splits/council`,
      `  CANARY_URL=${service.url} CANARY_TOKEN=${adminToken} node dist/src/cli/canaryctl.js scale council 25`,
      `  curl -s -X POST ${service.url}/api/v1/splits/council/scale -H 'Authorization: Bearer ${adminToken}' -H 'Content-Type: application/json' -d '{"percent":5}'`,
      `  redis-cli -u ${redisUrl} HSET ${prefix}weights:council canary 0   # emergency zeroing`,
      ...(traefik
        ? [
            `  for i in $(seq 20); do curl -s -H 'Host: council.localhost' ${traefik.webUrl}/; done | sort | uniq -c`,
          ]
        : []),
      '',
      'Ctrl-C stops everything.',
      '',
    ];
    console.log(lines.join('\n'));
  } catch (err) {
    console.error(`demo: ${(err as Error).message}`);
    stopAll();
    process.exit(1);
  }
}

void main();
