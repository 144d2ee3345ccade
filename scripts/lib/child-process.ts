import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Thrown when a program a harness cannot run without is not installed. */
export class MissingToolError extends Error {
  readonly code = 'TOOL_MISSING';
}

/** The path of `name` on PATH, or undefined. */
export function which(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const bin = found.stdout.trim();
  return found.status === 0 && bin !== '' ? bin : undefined;
}

/** The path of `name` on PATH; throws MissingToolError with `hint` (how to install it). */
export function requireBinary(name: string, hint: string): string {
  const bin = which(name);
  if (bin === undefined) throw new MissingToolError(`${name} is not on PATH. ${hint}`);
  return bin;
}

// Whatever a harness started dies with it, even when it crashes or is interrupted (a jest run,
// the bench, the demo). Registered once per process.
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

/** Resolves true once the child has exited, false after `timeoutMs`. */
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

/** A long-running child with its stdout and stderr captured together, in the order they came. */
export interface CapturedChild {
  child: ChildProcess;
  output(): string;
}

/**
 * Starts a server-like program with its output captured (for a test's failure message or a line
 * it waits for) and tracked, so it dies with this process.
 */
export function spawnCaptured(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): CapturedChild {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { child, output: () => out };
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
 * Runs a compiled entry (e.g. dist/bench/service-child.js) as its own Node process, so a load
 * generator never shares its event loop. Resolves with the child's first IPC message.
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

export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to its end with its output captured. Rejects when it cannot start, or after
 * `timeoutMs` (the program is then killed); a non-zero exit is the caller's to judge.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; label?: string } = {},
): Promise<ProcessRun> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      const label = options.label ?? [command, ...args].join(' ');
      reject(new Error(`${label} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
