/**
 * Failover with real processes: two replicas of the built service share Redis and Prometheus; the
 * one that leads a rollout is SIGKILLed mid-rollout, and the other takes the lease over and
 * finishes it from the state in Redis.
 */
import { Redis } from 'ioredis';
import { request } from 'undici';
import { freePort, waitUntil } from '../../scripts/lib/ports';
import {
  p95LatencyCheck,
  startCouncilMetrics,
  type CouncilMetrics,
} from '../helpers/council-metrics';
import { writeSplitsFile } from '../helpers/splits-file';
import { councilSplit } from '../helpers/splits-fixtures';
import {
  startRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import { adminApiRequest } from '../helpers/admin-api-request';
import { startServiceProcess, type ServiceProcess } from '../helpers/service';

jest.setTimeout(120_000);

describe('rollout failover between two service processes', () => {
  let redisServer: RedisServerHandle;
  let redis: Redis;
  let council: CouncilMetrics;
  const replicas: ServiceProcess[] = [];
  let splitsFile: ReturnType<typeof writeSplitsFile>;
  const prefix = uniquePrefix('failover');

  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = new Redis(redisServer.url);
    council = await startCouncilMetrics();
    splitsFile = writeSplitsFile({
      splits: {
        council: councilSplit({
          rollout: {
            steps: [10, 30, 60, 100],
            bakeTime: '3s',
            analysisInterval: '1s',
            checks: [p95LatencyCheck({ window: '10s', for: '2s' })],
          },
        }),
      },
    });
    for (let i = 0; i < 2; i++) {
      replicas.push(
        await startServiceProcess(await freePort(), {
          REDIS_URL: redisServer.url,
          KEY_PREFIX: prefix,
          SPLITS_FILE: splitsFile.file,
          PROMETHEUS_URL: council.prometheus.url,
          LOG_LEVEL: 'warn',
        }),
      );
    }
  });

  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await council?.stop();
    redis?.disconnect();
    await redisServer?.stop();
    splitsFile?.remove();
  });

  async function rollout(
    replica: ServiceProcess,
  ): Promise<{ status: string; step: number; leader: string | null }> {
    const res = await request(`${replica.url}/api/v1/splits/council/rollout`);
    return (await res.body.json()) as { status: string; step: number; leader: string | null };
  }

  test('when the leading replica is killed mid-rollout, then the other finishes it', async () => {
    const res = await adminApiRequest(replicas[0].url, 'POST', '/api/v1/splits/council/rollout', {
      version: '3.0.0',
    });
    expect(res.status).toBe(202);
    await waitUntil(
      'the first step applied',
      async () => (await redis.hget(`${prefix}weights:council`, 'canary')) === '10',
      20_000,
      100,
    );

    // Only one replica leads; its identity ends with its pid.
    const view = await rollout(replicas[1]);
    const leaderIndex = replicas.findIndex((r) => view.leader?.endsWith(`:${r.pid()}`));
    expect(leaderIndex).toBeGreaterThanOrEqual(0);
    const leader = replicas[leaderIndex];
    const survivor = replicas[1 - leaderIndex];
    const survivorPid = survivor.pid();
    const stepAtKill = view.step;
    await leader.kill();

    await waitUntil(
      'the rollout to complete',
      async () => (await rollout(survivor)).status === 'completed',
      90_000,
      250,
    );
    expect(await redis.hgetall(`${prefix}weights:council`)).toEqual({ main: '0', canary: '100' });
    const done = await rollout(survivor);
    expect(done.leader).toMatch(new RegExp(`:${survivorPid}$`));

    // Every step was written once, in order; those after the kill by the survivor.
    const entries = await redis.xrange(`${prefix}events:council`, '-', '+');
    const writes = entries
      .map(([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : []))))
      .filter((e) => e.source === 'controller');
    expect(writes.map((e) => JSON.parse(e.after).canary)).toEqual([10, 30, 60, 100]);
    expect(writes.at(-1)?.actor).toMatch(new RegExp(`:${survivorPid}$`));
    expect(stepAtKill).toBeLessThan(4);
  });
});
