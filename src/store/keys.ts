/**
 * The Redis key layout: a documented contract (docs/redis-keys.md) that operators type by hand.
 * Change nothing here without changing that document. The rollout lease is named by rollout
 * (src/rollout/engine/lease-key.ts): the store only checks a fence key it is given.
 */
export function createKeys(prefix: string) {
  return {
    prefix,
    /** HASH backend -> integer weight. */
    weights: (split: string) => `${prefix}weights:${split}`,
    /** STREAM of audit events, capped. */
    events: (split: string) => `${prefix}events:${split}`,
    /** STRING: canonical form of the weights last recorded in the audit trail. */
    recorded: (split: string) => `${prefix}recorded:${split}`,
    /** HASH: rollout state of the split. */
    rollout: (split: string) => `${prefix}rollout:${split}`,
    /** Prefix the change notifications subscribe to. */
    weightsPrefix: () => `${prefix}weights:`,
  };
}

export type Keys = ReturnType<typeof createKeys>;
