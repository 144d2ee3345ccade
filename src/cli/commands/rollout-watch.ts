import { hasOption, type ParsedArgs } from '../args';
import type { FollowContext } from '../command';
import { printable } from '../format';

/** Rollout statuses after which nothing moves any more (finalised: acknowledged after either). */
const FINAL = new Set(['completed', 'rolled_back', 'finalised']);

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;
/** Service text, made safe to print (see printable). */
const text = (v: unknown): string | undefined => (typeof v === 'string' ? printable(v) : undefined);
const shown = (v: unknown): string => printable(String(v));

/** A bar of `width` cells for `done` of `total`. */
export function progressBar(done: number, total: number, width = 20): string {
  const full = total > 0 ? Math.round((Math.min(Math.max(done, 0), total) / total) * width) : 0;
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

/** Whether the rollout answered has ended (completed or rolled back). */
export function rolloutEnded(body: unknown): boolean {
  return isRecord(body) && FINAL.has(String(body.status));
}

/**
 * The progress of a rollout as lines: status and step i of n with a bar, the bake's elapsed and
 * remaining time, then each check's last value and verdict. Fields are read one by one, so an
 * answer with fewer or more fields still renders what it has.
 */
export function renderRolloutProgress(body: unknown): string[] {
  if (!isRecord(body)) return [printable(JSON.stringify(body) ?? String(body))];
  const status = text(body.status) ?? 'unknown';
  const step = num(body.step);
  const steps = num(body.steps);
  const percent = num(body.canaryPercent);
  const head = [
    `${text(body.split) ?? 'rollout'}${body.version ? ` ${String(body.version)}` : ''}`,
  ];
  head.push(status);
  if (step !== undefined && steps !== undefined) {
    head.push(`step ${step} of ${steps}${percent !== undefined ? ` (${percent} %)` : ''}`);
    head.push(progressBar(FINAL.has(status) && status === 'completed' ? steps : step, steps));
  }
  const lines = [head.join('  ')];
  const bake = isRecord(body.bake) ? body.bake : undefined;
  if (bake && !FINAL.has(status)) {
    const elapsed = num(bake.elapsedMs) ?? 0;
    const total = num(bake.totalMs) ?? 0;
    lines.push(
      `  bake ${progressBar(elapsed, total)} ${text(bake.elapsed) ?? '?'} of ${text(bake.total) ?? '?'}, ` +
        `${text(bake.remaining) ?? '?'} left`,
    );
  }
  const checks = Array.isArray(body.checks) ? body.checks.filter(isRecord) : [];
  for (const c of checks) {
    const value = c.value === null || c.value === undefined ? '-' : shown(c.value);
    const threshold =
      c.threshold === null || c.threshold === undefined
        ? ''
        : ` (breach ${text(c.comparator) ?? '?'} ${shown(c.threshold)})`;
    lines.push(`  check ${text(c.name) ?? '?'}  ${value}${threshold}  ${text(c.verdict) ?? '?'}`);
  }
  const summary = text(body.summary);
  if (summary && FINAL.has(status)) lines.push(summary);
  return lines;
}

export interface WatchContext extends FollowContext {
  intervalMs?: number;
}

/**
 * `rollout status --watch`: reads the rollout again every second and redraws its progress (on a
 * TTY; otherwise prints it whenever it changes) until the rollout has completed or rolled back.
 */
export async function watchRollout(
  args: ParsedArgs,
  first: unknown,
  ctx: WatchContext,
): Promise<void> {
  if (!hasOption(args, 'watch')) return;
  let body = first;
  let drawn = 0;
  let last = '';
  for (;;) {
    const lines = renderRolloutProgress(body);
    if (ctx.tty) {
      // Up over the previous frame, clear to the end of the screen, draw this one.
      ctx.out.stdout(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ''}${lines.join('\n')}\n`);
      drawn = lines.length;
    } else {
      // Without the bake's clock, which changes every second.
      const key = lines.filter((l) => !l.startsWith('  bake ')).join('\n');
      if (key !== last) ctx.out.stdout(`${lines.join('\n')}\n`);
      last = key;
    }
    if (rolloutEnded(body)) return;
    await new Promise((r) => setTimeout(r, ctx.intervalMs ?? 1_000));
    body = (await ctx.client.send(ctx.request)).body;
  }
}
