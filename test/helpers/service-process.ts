import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { buildDist, staleOutputs } from '../../scripts/lib/build-dist';
import { waitUntil } from './free-port';

const ROOT = path.resolve(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/src/main.js');

/** Builds dist/ when any compiled file of src/ (or a script it ships) is missing or older. */
export async function ensureServiceBuilt(): Promise<void> {
  if (staleOutputs(['src']).length === 0) return;
  const result = await buildDist();
  if (!result.ok) throw new Error(`npm run build failed:\n${result.output}`);
}

export interface ServiceProcess {
  url: string;
  port: number;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same environment. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
  /** The process id while it runs. */
  pid(): number | undefined;
}

/**
 * Runs the built service (`node dist/src/main.js`, what `npm start` runs) as a child process on a
 * given port, and waits until /health answers.
 */
export async function startServiceProcess(
  port: number,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  await ensureServiceBuilt();
  let child: ChildProcess | undefined;
  let out = '';
  const url = `http://127.0.0.1:${port}`;
  const launch = async (): Promise<void> => {
    const c = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        // Tests that want a snapshot name their own file; none shares the repository's ./data.
        SNAPSHOT_FILE: 'off',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitUntil(
        'the service to answer /health',
        async () => {
          if (c.exitCode !== null) throw new Error(`the service exited: ${out}`);
          const res = await fetch(`${url}/health`);
          return res.status === 200;
        },
        15_000,
        50,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- service output ---\n${out.slice(-3000)}`);
    }
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  process.once('exit', () => child?.kill('SIGKILL'));
  await launch();
  return {
    url,
    port,
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: kill,
    output: () => out,
    pid: () => child?.pid,
  };
}
