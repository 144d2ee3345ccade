import { parseSplitsDocument, type SplitsConfig } from '../../src/config/splits';

/**
 * The council split the rollout tests run: main and canary as servers we define, stable 100 % by
 * default, and `rollout` as the plan (each test adds its interval, checks and notifications).
 */
export function councilWithRollout(
  rollout: Record<string, unknown>,
  canaryVersion = '1.5.0',
): SplitsConfig {
  return parseSplitsDocument(
    {
      splits: {
        council: {
          stable: 'main',
          canary: 'canary',
          backends: {
            main: { servers: ['http://127.0.0.1:9000'] },
            canary: { servers: ['http://127.0.0.1:9001'], version: canaryVersion },
          },
          defaultWeights: { main: 100, canary: 0 },
          rollout,
        },
      },
    },
    'test splits',
  );
}
