import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_ADMIN_TOKEN } from '../lib/http';
import { sleep, startNodeChild, type NodeChild } from '../../scripts/lib/child-process';
import { cpuSecondsOf } from '../lib/proc';
import { startOwnRedisServer } from '../../scripts/lib/redis-process';
import { generatedSplits } from '../lib/splits';
import { startTraefik } from '../../scripts/lib/traefik-process';

export interface IdleCost {
  splits: number;
  /** `none`: no Traefik at all, the service's own idle work (its periodic re-read): the floor. */
  mode: 'held' | 'polling' | 'none';
  /** The providers.http block Traefik ran with. */
  settings: string;
  idleSec: number;
  traefikCpuSec: number;
  serviceCpuSec: number;
  /** The service's CPU seconds in each of the mode's two half windows (first, then last). */
  serviceCpuSecByWindow: number[];
}

/** Idle time after the service starts, before any window: start-up work settles. */
const WARM_UP_MS = 10_000;

/**
 * CPU seconds Traefik and the service use while nothing changes, with held polls and with plain
 * polling at 1 s, at each split count, next to the service with no Traefik at all. One service per
 * count; one Traefik per window, the modes in the order held, polling, none, none, polling, held,
 * each window half of `idleSec`, summed per mode.
 */
export async function measureIdle(
  traefikBin: string,
  options: { sizes: number[]; idleSec: number },
  log: (line: string) => void,
): Promise<IdleCost[]> {
  const out: IdleCost[] = [];
  for (const count of options.sizes) {
    const redisServer = await startOwnRedisServer(['--appendonly', 'no']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-bench-idle-'));
    let service: NodeChild<{ url: string }> | undefined;
    try {
      const splitsFile = path.join(dir, 'splits.json');
      fs.writeFileSync(splitsFile, JSON.stringify(generatedSplits(count)));
      service = await startNodeChild<{ url: string }>(
        path.join(__dirname, '..', 'service-child.js'),
        {
          PORT: '0',
          REDIS_URL: redisServer.url,
          KEY_PREFIX: 'bench:idle:',
          ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
          LOG_LEVEL: 'silent',
          BENCH_SPLITS_JSON: splitsFile,
        },
        60_000,
      );
      const modes = [
        {
          mode: 'held' as const,
          http: {
            endpoint: `${service.ready.url}/traefik?watch=25s`,
            pollInterval: '250ms',
            pollTimeout: '30s',
          },
        },
        {
          mode: 'polling' as const,
          http: { endpoint: `${service.ready.url}/traefik`, pollInterval: '1s', pollTimeout: '5s' },
        },
        { mode: 'none' as const, http: undefined },
      ];
      // The service has just rendered every split: its start-up garbage and JIT work must not
      // land in the first window. Then the modes in the order A B C C B A, each window half the
      // idle time, so whatever drifts over the minutes weighs on every mode alike; C (no Traefik)
      // shows how much the service's own idle work varies from one window to the next.
      await sleep(WARM_UP_MS);
      const windows = new Map<string, { traefik: number; service: number }[]>();
      const [held, polling, none] = modes;
      for (const { mode, http } of [held, polling, none, none, polling, held]) {
        if (http === undefined) {
          const s0 = cpuSecondsOf(service.pid);
          await sleep((options.idleSec * 1_000) / 2);
          windows.set(mode, [
            ...(windows.get(mode) ?? []),
            { traefik: 0, service: cpuSecondsOf(service.pid) - s0 },
          ]);
          continue;
        }
        const traefik = await startTraefik({
          bin: traefikBin,
          providers: { providersThrottleDuration: '200ms', http },
          logLevel: 'INFO',
        });
        try {
          // Let Traefik fetch and apply the configuration once before the window opens.
          const ready = Date.now() + 60_000;
          while (Date.now() < ready) {
            const res = await fetch(`${traefik.apiUrl}/api/http/routers/s00000@http`).catch(
              () => undefined,
            );
            if (res?.status === 200) break;
            await sleep(200);
          }
          await sleep(3_000);
          const t0 = cpuSecondsOf(traefik.pid ?? -1);
          const s0 = cpuSecondsOf(service.pid);
          await sleep((options.idleSec * 1_000) / 2);
          const w = windows.get(mode) ?? [];
          w.push({
            traefik: cpuSecondsOf(traefik.pid ?? -1) - t0,
            service: cpuSecondsOf(service.pid) - s0,
          });
          windows.set(mode, w);
        } finally {
          await traefik.stop();
        }
      }
      for (const { mode, http } of modes) {
        const w = windows.get(mode) ?? [];
        const round = (x: number): number => Math.round(x * 100) / 100;
        const cost: IdleCost = {
          splits: count,
          mode,
          settings:
            http === undefined
              ? 'no Traefik'
              : `endpoint …${http.endpoint.slice(http.endpoint.indexOf('/traefik'))}, pollInterval ${http.pollInterval}, pollTimeout ${http.pollTimeout}`,
          idleSec: options.idleSec,
          traefikCpuSec: round(w.reduce((n, x) => n + x.traefik, 0)),
          serviceCpuSec: round(w.reduce((n, x) => n + x.service, 0)),
          serviceCpuSecByWindow: w.map((x) => round(x.service)),
        };
        out.push(cost);
        log(
          `  idle ${options.idleSec} s, ${count} splits, ${mode}: Traefik ${cost.traefikCpuSec} CPU s, service ${cost.serviceCpuSec} CPU s (windows ${cost.serviceCpuSecByWindow.join(' + ')})`,
        );
      }
    } finally {
      await service?.stop();
      await redisServer.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}
