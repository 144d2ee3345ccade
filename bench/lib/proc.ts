import { sleep } from '../../scripts/lib/child-process';
import fs from 'node:fs';

/** Resident and peak resident memory of a process, in MB of 10^6 bytes (Linux /proc). */
export function memoryOf(pid: number): { rssMB: number; peakRssMB: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMB: (kib('VmRSS') * 1024) / 1e6, peakRssMB: (kib('VmHWM') * 1024) / 1e6 };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far (Linux /proc). */
export function cpuSecondsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/**
 * Waits until a process uses less than `maxShare` of a core over a `windowMs` window (e.g. a
 * service that finished its start-up work), or until `timeoutMs`. Returns the last share seen.
 */
export async function waitQuiet(
  pid: number,
  maxShare: number,
  windowMs: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let share = Number.NaN;
  while (Date.now() < deadline) {
    const before = cpuSecondsOf(pid);
    await sleep(windowMs);
    share = (cpuSecondsOf(pid) - before) / (windowMs / 1000);
    if (share < maxShare) return share;
  }
  return share;
}
