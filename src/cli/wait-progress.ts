import { formatDuration } from '../shared/duration';

/** Erases the current terminal line (carriage return, then erase to its end). */
export const CLEAR_LINE = '\r\x1b[K';

/** The line shown while `--wait` waits for every Traefik to apply a change. */
export function waitProgressLine(elapsedMs: number, timeoutMs: number): string {
  const seconds = (Math.max(0, elapsedMs) / 1000).toFixed(1);
  return `waiting for Traefik to apply the change… ${seconds}s (gives up after ${formatDuration(timeoutMs)})`;
}

export interface WaitProgress {
  /** Stops redrawing and erases the line, so the answer prints on a clean line. */
  stop(): void;
}

/**
 * Redraws the waiting line in place every `intervalMs` on a terminal, starting at once, until
 * stopped. `write` goes to stderr: stdout stays the answer alone.
 */
export function startWaitProgress(
  write: (text: string) => void,
  timeoutMs: number,
  intervalMs = 200,
  now: () => number = Date.now,
): WaitProgress {
  const started = now();
  const draw = (): void => write(`${CLEAR_LINE}${waitProgressLine(now() - started, timeoutMs)}`);
  draw();
  const timer = setInterval(draw, intervalMs);
  let stopped = false;
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      write(CLEAR_LINE);
    },
  };
}
