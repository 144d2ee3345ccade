/** STRING: token of the replica that currently runs rollouts (see docs/redis-keys.md). */
export const rolloutLeaseKey = (prefix: string): string => `${prefix}rollout-lease`;
