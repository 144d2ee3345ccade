import { useBuiltCliAndRedis, withOwnService } from '../helpers/cli-fixtures';
import { sleep } from '../../scripts/lib/child-process';
import { runCli, SPLITS_WITH_ROLLOUT, startServiceUnderTest } from '../helpers/service';

/** `canaryctl rollout status --watch`, the built binary, against the real service and Redis. */
const stack = useBuiltCliAndRedis();

describe('canaryctl rollout status --watch', () => {
  test('when a rollout runs and is then aborted, then --watch shows step i of n once and ends with the rollback', async () => {
    await withOwnService(
      stack,
      (redisUrl) => startServiceUnderTest({ redisUrl, splits: SPLITS_WITH_ROLLOUT }),
      async (env) => {
        const start = await runCli(['rollout', 'start', 'council', '--version', '1.5.0'], env);
        expect(start.code).toBe(0);

        const watching = runCli(['rollout', 'status', 'council', '--watch'], env, 30_000);
        await sleep(1_500);
        const abort = await runCli(['rollout', 'abort', 'council', '--reason', 'red'], env);
        expect(abort.code).toBe(0);
        const watch = await watching;

        expect(watch.stderr).toBe('');
        expect(watch.code).toBe(0);
        const lines = watch.stdout.trimEnd().split('\n');
        // Not a TTY: the progress once, not redrawn (no escape sequences), then the end.
        expect(watch.stdout).not.toContain('\x1b[');
        expect(lines[0]).toMatch(
          /^council 1\.5\.0 {2}progressing {2}step 1 of 4 \(5 %\) {2}\[#{5}\.{15}\]$/,
        );
        expect(lines.some((l) => /^council 1\.5\.0 {2}rolled_back/.test(l))).toBe(true);
        expect(lines[lines.length - 1]).toMatch(/rolled back to 0%.*red/);
      },
    );
  });

  test('when --watch is given to another rollout action, then it is a usage error', async () => {
    const run = await runCli(['rollout', 'pause', 'council', '--watch'], {
      CANARY_URL: 'http://127.0.0.1:9',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--watch is for `rollout status` only');
  });
});
