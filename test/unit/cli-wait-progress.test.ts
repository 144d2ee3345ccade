import { CLEAR_LINE, startWaitProgress, waitProgressLine } from '../../src/cli/wait-progress';

describe('--wait progress on a terminal', () => {
  test('when time passes, then the line shows the seconds waited and the limit', () => {
    expect(waitProgressLine(0, 30_000)).toBe(
      'waiting for Traefik to apply the change… 0.0s (gives up after 30s)',
    );
    expect(waitProgressLine(1_450, 90_000)).toBe(
      'waiting for Traefik to apply the change… 1.4s (gives up after 1m30s)',
    );
  });

  test('when started and stopped, then it draws at once, redraws in place and erases the line', () => {
    jest.useFakeTimers();
    try {
      let clock = 1_000;
      const written: string[] = [];
      const progress = startWaitProgress(
        (t) => written.push(t),
        10_000,
        200,
        () => clock,
      );
      clock += 400;
      jest.advanceTimersByTime(200);
      progress.stop();
      progress.stop();
      jest.advanceTimersByTime(1_000);
      expect(written).toEqual([
        `${CLEAR_LINE}waiting for Traefik to apply the change… 0.0s (gives up after 10s)`,
        `${CLEAR_LINE}waiting for Traefik to apply the change… 0.4s (gives up after 10s)`,
        CLEAR_LINE,
      ]);
    } finally {
      jest.useRealTimers();
    }
  });
});
