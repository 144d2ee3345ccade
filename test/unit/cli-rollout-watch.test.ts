import {
  progressBar,
  renderRolloutProgress,
  rolloutEnded,
} from '../../src/cli/commands/rollout-watch';

const view = {
  split: 'council',
  status: 'progressing',
  version: '1.5.0',
  step: 2,
  steps: 4,
  canaryPercent: 25,
  bake: {
    totalMs: 600_000,
    elapsedMs: 150_000,
    remainingMs: 450_000,
    total: '10m',
    elapsed: '2m30s',
    remaining: '7m30s',
  },
  checks: [
    { name: 'error-ratio', verdict: 'pass', value: 0.004, threshold: 0.05, comparator: '>' },
    { name: 'p95', verdict: 'inconclusive', value: null, threshold: 0.7, comparator: '>' },
  ],
  summary: 'council 1.5.0: progressing, step 2/4 (25%)',
};

describe('rollout status --watch rendering', () => {
  it('when a rollout is progressing, then step i of n, the bake and every check are shown', () => {
    expect(renderRolloutProgress(view)).toEqual([
      'council 1.5.0  progressing  step 2 of 4 (25 %)  [##########..........]',
      '  bake [#####...............] 2m30s of 10m, 7m30s left',
      '  check error-ratio  0.004 (breach > 0.05)  pass',
      '  check p95  - (breach > 0.7)  inconclusive',
    ]);
    expect(rolloutEnded(view)).toBe(false);
  });

  it('when the rollout has ended, then the bar is full or stays put, no bake, and the summary follows', () => {
    const done = { ...view, status: 'completed', step: 4, checks: [], summary: 'done' };
    expect(renderRolloutProgress(done)).toEqual([
      'council 1.5.0  completed  step 4 of 4 (25 %)  [####################]',
      'done',
    ]);
    expect(rolloutEnded(done)).toBe(true);
    expect(rolloutEnded({ ...view, status: 'rolled_back' })).toBe(true);
    expect(rolloutEnded({ ...view, status: 'finalised' })).toBe(true);
  });

  it('when the answer has fewer fields, then what it has is shown', () => {
    expect(renderRolloutProgress({ split: 'council', status: 'paused' })).toEqual([
      'council  paused',
    ]);
    expect(renderRolloutProgress('odd')).toEqual(['"odd"']);
  });

  it('when service text holds control sequences, then they are shown escaped, not sent', () => {
    const lines = renderRolloutProgress({
      split: 'council',
      status: 'rolled_back',
      summary: 'rolled back: \x1b[2Jgone',
      checks: [{ name: 'x\ry', verdict: 'fail', value: '\x1b[31m', threshold: 1, comparator: '>' }],
    });
    expect(lines.join('\n')).not.toContain('\x1b');
    expect(lines).toEqual([
      'council  rolled_back',
      '  check x\\x0dy  \\x1b[31m (breach > 1)  fail',
      'rolled back: \\x1b[2Jgone',
    ]);
  });

  it('when drawn, then a bar is clamped to its width', () => {
    expect(progressBar(3, 2, 4)).toBe('[####]');
    expect(progressBar(-1, 2, 4)).toBe('[....]');
    expect(progressBar(1, 0, 4)).toBe('[....]');
  });
});
