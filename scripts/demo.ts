/**
 * `npm run demo`: the service on the example splits, with two demo backends and, when REDIS_URL is
 * not set, a throwaway local redis-server. Prints what to try. Ctrl-C stops everything.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadEnv } from '../src/config/env';
import { parseSplitsDocument } from '../src/config/splits';
import { createLogger } from '../src/log/logger';
import { startService } from '../src/service';
import { startLocalTraefik } from './lib/local-traefik';
import { startBackend } from './lib/backend-server';
import { startRedisServer } from './lib/redis-process';

const ROOT = path.resolve(__dirname, '..', '..');

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
    let redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      const redis = await startRedisServer();
      cleanup.push(() => void redis.stop());
      redisUrl = redis.url;
    }
    const adminToken = process.env.ADMIN_TOKEN || crypto.randomBytes(18).toString('base64url');

    // The example splits, with the demo backends on free ports.
    const doc = YAML.parse(
      fs.readFileSync(path.join(ROOT, 'traefik', 'splits.example.yaml'), 'utf8'),
    );
    const council = doc.splits.council;
    for (const name of ['main', 'canary']) {
      const backend = await startBackend(name);
      cleanup.push(() => void backend.stop());
      council.backends[name].servers = [backend.url];
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
        ? `  traefik      ${traefik.webUrl}  (dashboard/API ${traefik.apiUrl}; polls ${service.url}/traefik?watch=25s every 250ms, pollTimeout 30s: each poll is held until the weights change)`
        : '  traefik      not started: run scripts/install-traefik.sh to build it, then npm run demo again',
      '',
      'Try:',
      `  curl -s ${service.url}/traefik            # what Traefik is told`,
      `  curl -s -o /dev/null -w '%{time_total}s\\n' '${service.url}/traefik?watch=10s' '${service.url}/traefik?watch=10s'   # one connection: the second poll is held until a change (or 10 s)`,
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
