/**
 * The service as `npm start` runs it (startService), in its own process, on a splits document the
 * bench generated (BENCH_SPLITS_JSON, a file). Reports `{ url }` over IPC when it listens; stops on
 * SIGTERM or when the bench goes away.
 */
import fs from 'node:fs';
import { loadEnv } from '../src/config/env';
import { parseSplitsDocument } from '../src/config/splits';
import { createLogger } from '../src/log/logger';
import { startService } from '../src/service';

async function main(): Promise<void> {
  const file = process.env.BENCH_SPLITS_JSON;
  if (!file) throw new Error('BENCH_SPLITS_JSON is required');
  const env = loadEnv(process.env);
  const splits = parseSplitsDocument(JSON.parse(fs.readFileSync(file, 'utf8')), file);
  const service = await startService(env, createLogger(env.LOG_LEVEL), splits);
  const stop = (): void => {
    void service.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  // The bench asks for the heap figures behind the RSS it reads from /proc: as they are, then after
  // a full GC (the bench starts this process with --expose-gc), which tells live data from garbage.
  process.on('message', (m) => {
    if (m !== 'memory') return;
    const before = process.memoryUsage();
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ memory: before, afterGc: process.memoryUsage() });
  });
  process.send?.({ url: service.url });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
