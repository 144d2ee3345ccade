import { startServiceUnderTest, type ServiceUnderTest } from './service';
import {
  startSentinelGroup,
  type SentinelGroupHandle,
} from '../../scripts/lib/redis-sentinel-group';

export interface ServiceOnSentinels {
  group: SentinelGroupHandle;
  svc: ServiceUnderTest;
  /** Stops the service, then the group. */
  stop(): Promise<void>;
}

/**
 * A Sentinel group (primary, replica, three Sentinels) named `name` and an in-process service that
 * finds its primary through the Sentinels; `env` adds to the service's environment. When the
 * service fails to start, the group is stopped before the error is thrown.
 */
export async function startServiceOnSentinels(
  name: string,
  env: Record<string, string> = {},
): Promise<ServiceOnSentinels> {
  const group = await startSentinelGroup(name);
  let svc: ServiceUnderTest;
  try {
    svc = await startServiceUnderTest({
      redisUrl: '',
      env: { REDIS_SENTINELS: group.sentinels, REDIS_SENTINEL_NAME: group.name, ...env },
    });
  } catch (err) {
    await group.stop();
    throw err;
  }
  return {
    group,
    svc,
    stop: async () => {
      await svc.stop();
      await group.stop();
    },
  };
}
