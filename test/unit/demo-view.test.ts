import {
  bar,
  eventLine,
  newEventLines,
  percentages,
  renderPlain,
  renderScreen,
  type ViewEvent,
  type ViewState,
} from '../../scripts/lib/demo-view';

const event = (id: string, time: string, after: Record<string, number>): ViewEvent => ({
  id,
  time,
  action: 'scale',
  source: 'api',
  actor: 'canaryctl',
  reason: '',
  after,
});

const state: ViewState = {
  split: 'council',
  backends: ['main', 'canary'],
  served: { main: 75, canary: 25 },
  routed: { main: 36, canary: 12, error: 2 },
  events: [
    event('2-0', '2026-12-01T23:05:02.000Z', { main: 75, canary: 25 }),
    event('1-0', '2026-12-01T23:05:01.000Z', { main: 95, canary: 5 }),
  ],
};

describe('demo live view', () => {
  it('when weights are given, then percentages are whole and sum as the weights do', () => {
    expect(percentages({ main: 3, canary: 1 })).toEqual({ main: 75, canary: 25 });
    expect(percentages({ main: 0, canary: 0 })).toEqual({});
  });

  it('when a share is drawn, then the bar has that share of full cells, clamped', () => {
    expect(bar(25, 8)).toBe('██░░░░░░');
    expect(bar(100, 4)).toBe('████');
    expect(bar(140, 4)).toBe('████');
    expect(bar(-3, 4)).toBe('░░░░');
  });

  it('when not on a TTY, then one plain line carries served and routed shares per backend', () => {
    expect(renderPlain(state)).toBe(
      'live council: main served=75% routed=72% (36); canary served=25% routed=24% (12); error=2',
    );
  });

  it('when a rollout runs, then the plain line and the frame show its status and checks', () => {
    const withRollout: ViewState = {
      ...state,
      rollout: {
        status: 'progressing',
        summary: 'step 1 of 4 (5%)',
        checks: [{ name: 'error-ratio', verdict: 'pass', value: 0.012345 }],
      },
    };
    expect(renderPlain(withRollout)).toMatch(
      / \| rollout progressing: step 1 of 4 \(5%\) \[error-ratio 0\.0123 pass\]$/,
    );
    expect(renderScreen(withRollout)).toEqual(
      expect.arrayContaining([
        'rollout  progressing: step 1 of 4 (5%)',
        '  check error-ratio 0.0123 pass',
      ]),
    );
  });

  it('when drawn on a TTY, then each backend has a served bar and a routed bar, and the events follow', () => {
    const lines = renderScreen(state);
    expect(lines[1]).toBe(`  main     75 % ${bar(75)}    72 % ${bar(72)} 36`);
    expect(lines[2]).toBe(`  canary   25 % ${bar(25)}    24 % ${bar(24)} 12`);
    expect(lines.slice(-3)).toEqual([
      'last events',
      '  23:05:02  scale (api, canaryctl)  main 75 / canary 25',
      '  23:05:01  scale (api, canaryctl)  main 95 / canary 5',
    ]);
  });

  it('when events arrive newest first, then each is printed once, oldest first', () => {
    const seen = new Set<string>();
    expect(newEventLines(state.events, seen)).toEqual([
      `event ${eventLine(state.events[1])}`,
      `event ${eventLine(state.events[0])}`,
    ]);
    const later = [
      event('3-0', '2026-12-01T23:05:09.000Z', { main: 100, canary: 0 }),
      ...state.events,
    ];
    expect(newEventLines(later, seen)).toEqual([
      'event 23:05:09  scale (api, canaryctl)  main 100 / canary 0',
    ]);
  });
});
