/**
 * `npm run bench:blast-radius`: how many user requests fail while the canary process is down, with
 * and without the health checks and retry that splits.yaml can emit, at 5 % and 30 % canary
 * weight. One run, one Traefik, the same backends and load for both columns: the two splits of
 * each row differ only in those settings. Prints a Markdown table (docs/performance.md) and writes
 * bench/results/blast-radius-latest.json.
 *
 * Knobs: BLAST_DOWN_MS (how long the canary is down, default 5000), BLAST_WORKERS (load loops per
 * host, default 2).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBackend, type BackendHandle } from '../scripts/lib/backend-server';
import { bareSplit, guardedSplit } from '../scripts/lib/blast-radius-splits';
import { freePort, waitUntil } from '../scripts/lib/ports';
import { startOwnRedisServer } from '../scripts/lib/redis-process';
import { startTraefik } from '../scripts/lib/traefik-process';
import { closeTraffic, shareOf, steadyLoad, windowOf } from '../scripts/lib/traffic';
import { sleep, startNodeChild } from '../scripts/lib/child-process';
import { ROOT } from '../scripts/lib/build-dist';

const DOWN_MS = Number(process.env.BLAST_DOWN_MS ?? 5_000);
const WORKERS = Number(process.env.BLAST_WORKERS ?? 2);
const WEIGHTS = [5, 30];

interface Row {
  canaryPercent: number;
  guarded: { total: number; failed: number };
  bare: { total: number; failed: number };
  /** Ms from the canary coming back to it getting a share again through the guarded split. */
  backInRotationMs: number;
}

const pct = (w: { total: number; failed: number }): string =>
  `${w.failed.toLocaleString('en')} / ${w.total.toLocaleString('en')} (${((100 * w.failed) / w.total).toFixed(2)} %)`;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-blast-'));
  const redis = await startOwnRedisServer();
  const main = await startBackend('main');
  const canaryPort = await freePort();
  let canary: BackendHandle = await startBackend('canary', { port: canaryPort });
  const canaryUrl = `http://127.0.0.1:${canaryPort}`;
  const splits: Record<string, unknown> = {};
  for (const w of WEIGHTS) {
    const b = { mainUrl: main.url, canaryUrl, canaryPercent: w };
    splits[`guarded-${w}`] = guardedSplit(b, { rule: `Host(\`guarded-${w}\`)` });
    splits[`bare-${w}`] = bareSplit(b, { rule: `Host(\`bare-${w}\`)` });
  }
  const splitsFile = path.join(dir, 'splits.json');
  fs.writeFileSync(splitsFile, JSON.stringify({ splits }));
  const service = await startNodeChild<{ url: string }>(
    path.join(__dirname, 'service-child.js'),
    {
      PORT: '0',
      REDIS_URL: redis.url,
      KEY_PREFIX: 'blast:',
      LOG_LEVEL: 'silent',
      BENCH_SPLITS_JSON: splitsFile,
    },
    60_000,
  );
  const traefik = await startTraefik({
    providerUrl: `${service.ready.url}/traefik`,
    pollInterval: '1s',
    logLevel: 'ERROR',
  });
  const rows: Row[] = [];
  try {
    for (const w of WEIGHTS) {
      for (const host of [`guarded-${w}`, `bare-${w}`]) {
        await waitUntil(
          `Traefik to route ${host}`,
          async () => (await shareOf(traefik.webUrl, host, 'canary', 40)) > 0,
          60_000,
          200,
        );
      }
      const guarded = steadyLoad(traefik.webUrl, `guarded-${w}`, { workers: WORKERS });
      const bare = steadyLoad(traefik.webUrl, `bare-${w}`, { workers: WORKERS });
      await sleep(1_000);
      const g0 = guarded.snapshot();
      const b0 = bare.snapshot();
      await canary.stop();
      await sleep(DOWN_MS);
      canary = await startBackend('canary', { port: canaryPort });
      const back = Date.now();
      await sleep(1_000);
      const row: Row = {
        canaryPercent: w,
        guarded: windowOf(await guarded.stop(), g0),
        bare: windowOf(await bare.stop(), b0),
        backInRotationMs: 0,
      };
      await waitUntil(
        'the canary back in rotation',
        async () => (await shareOf(traefik.webUrl, `guarded-${w}`, 'canary', 40)) > 0,
        30_000,
        100,
      );
      row.backInRotationMs = Date.now() - back;
      rows.push(row);
      console.log(
        `canary ${w} %: with ${pct(row.guarded)}, without ${pct(row.bare)}, back in ${row.backInRotationMs} ms`,
      );
    }
  } finally {
    await traefik.stop();
    await service.stop();
    await main.stop();
    await canary.stop();
    await redis.stop();
    await closeTraffic();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const table = [
    `Canary down for ${DOWN_MS / 1000} s under steady load (${WORKERS} workers per split):`,
    '',
    '| canary weight | failed, with health checks + passive check + retry | failed, without | canary back in rotation |',
    '|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.canaryPercent} % | ${pct(r.guarded)} | ${pct(r.bare)} | ${(r.backInRotationMs / 1000).toFixed(1)} s |`,
    ),
  ].join('\n');
  console.log(`\n${table}`);
  const out = path.join(ROOT, 'bench/results/blast-radius-latest.json');
  fs.writeFileSync(
    out,
    `${JSON.stringify({ at: new Date().toISOString(), downMs: DOWN_MS, workers: WORKERS, rows }, null, 2)}\n`,
  );
  console.log(`\nwritten to ${path.relative(ROOT, out)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
