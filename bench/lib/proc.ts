import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { freePort, waitForPort } from '../../scripts/lib/ports';

// Whatever the bench started dies with it, even when it crashes or is interrupted.
const live = new Set<ChildProcess>();
let hooked = false;
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM, then SIGKILL when it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (exited(child)) return;
  child.kill('SIGTERM');
  if (!(await waitExit(child, graceMs))) {
    child.kill('SIGKILL');
    await waitExit(child, 3_000);
  }
}

export interface NodeChild<T> {
  child: ChildProcess;
  pid: number;
  /** The first IPC message the child sent (its "ready" report). */
  ready: T;
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Runs a compiled bench entry (e.g. dist/bench/service-child.js) as its own Node process, so the
 * load generator never shares its event loop. Resolves with the child's first IPC message.
 */
export async function startNodeChild<T>(
  script: string,
  env: Record<string, string>,
  timeoutMs: number,
  nodeArgs: string[] = [],
): Promise<NodeChild<T>> {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  track(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4_000);
  });
  const ready = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} not ready in ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as T);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before it was ready: ${err}`));
    });
  }).catch(async (e: unknown) => {
    child.kill('SIGKILL');
    throw e;
  });
  return {
    child,
    pid: child.pid ?? -1,
    ready,
    stderr: () => err,
    stop: () => stopChild(child),
  };
}

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
