import type { Redis } from 'ioredis';
import { WriteNotReplicatedError } from '../errors';

/** REDIS_WRITE_REPLICAS and REDIS_WRITE_TIMEOUT_MS: how a write is acknowledged. */
export interface ReplicaAcks {
  /** Replicas that must hold a write before it is acknowledged; 0 acknowledges at once. */
  replicas: number;
  timeoutMs: number;
}

/**
 * Each WAIT lasts at most this long, below the connection's command timeout. WAIT counts the
 * replicas that hold every write its connection made so far, so repeating it measures the same
 * write again.
 */
const WAIT_SLICE_MS = 1_000;

/**
 * Resolves once `acks.replicas` replicas hold every write `redis` made so far, and throws
 * WriteNotReplicatedError when they do not within `acks.timeoutMs`. Call it on the connection that
 * wrote, right after the write: WAIT is per connection. `what` names the write in the error.
 */
export async function awaitReplicas(
  redis: Redis,
  acks: ReplicaAcks | undefined,
  what: string,
): Promise<void> {
  if (acks === undefined || acks.replicas === 0) return;
  const deadline = Date.now() + acks.timeoutMs;
  let confirmed = 0;
  for (;;) {
    const slice = Math.max(1, Math.min(deadline - Date.now(), WAIT_SLICE_MS));
    try {
      confirmed = Number(await redis.wait(acks.replicas, slice));
    } catch (cause) {
      throw new WriteNotReplicatedError(
        `${what} reached the Redis primary, but whether ${acks.replicas} replica(s) hold it could ` +
          `not be checked (${(cause as Error).message}); check the split's status and history, ` +
          'and retry if the write is missing',
        { wanted: acks.replicas, cause },
      );
    }
    if (confirmed >= acks.replicas) return;
    if (Date.now() >= deadline) break;
  }
  throw new WriteNotReplicatedError(
    `${what} reached the Redis primary and is served, but only ${confirmed} of the ` +
      `${acks.replicas} replica(s) REDIS_WRITE_REPLICAS asks for confirmed it within ` +
      `${acks.timeoutMs} ms: a failover now could lose it; check the replicas ` +
      '(`redis-cli INFO replication`), then the status, and retry the write to be sure',
    { wanted: acks.replicas, confirmed },
  );
}
