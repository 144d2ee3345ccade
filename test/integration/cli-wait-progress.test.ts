import { run } from '../../src/cli/run';
import { CLEAR_LINE } from '../../src/cli/wait-progress';
import { freePort } from '../../scripts/lib/ports';
import { useServiceUnderTest } from '../helpers/service';
import { adminEnvFor } from '../helpers/cli-fixtures';

/** canaryctl's `--wait` progress line, run in process against the real service and Redis. */
// A Traefik that never answers: --wait runs to its limit, so the line is redrawn several times.
const ctx = useServiceUnderTest(async () => ({
  env: { TRAEFIK_API_URLS: `http://127.0.0.1:${await freePort()}` },
}));

async function scale(percent: string, tty: boolean) {
  let stdout = '';
  let stderr = '';
  const code = await run(['scale', 'council', percent, '--wait', '2s'], adminEnvFor(ctx.svc), {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    tty,
  });
  return { code, stdout, stderr };
}

describe('canaryctl --wait', () => {
  test('when stdout is a terminal, then a waiting line is redrawn on stderr and erased before the answer', async () => {
    const r = await scale('15', true);
    // The write is made; no Traefik confirms it within the limit: exit 5, naming the laggard.
    expect(r.code).toBe(5);
    expect(await ctx.redis.hgetall(`${ctx.svc.prefix}weights:council`)).toMatchObject({
      canary: '15',
    });
    const cut = r.stderr.lastIndexOf(`${CLEAR_LINE}canaryctl:`);
    const progress = r.stderr.slice(0, cut);
    const answer = r.stderr.slice(cut + CLEAR_LINE.length);
    const lines = progress.split(CLEAR_LINE).filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(3);
    const seconds = lines.map((l) => Number(/… ([\d.]+)s \(gives up after 2s\)$/.exec(l)?.[1]));
    expect(seconds.every((x) => Number.isFinite(x))).toBe(true);
    expect(seconds[0]).toBe(0);
    expect(seconds[seconds.length - 1]).toBeGreaterThan(seconds[0]);
    expect(answer).toContain('canaryctl:');
    expect(answer).not.toContain('waiting for Traefik');
  });

  test('when stdout is not a terminal, then nothing but the answer is printed', async () => {
    const r = await scale('20', false);
    expect(r.code).toBe(5);
    expect(r.stderr).not.toContain('waiting for Traefik');
    expect(r.stderr).not.toContain('\x1b[');
    expect(r.stderr.startsWith('canaryctl:')).toBe(true);
  });
});
