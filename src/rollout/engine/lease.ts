import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { withScripts } from '../../store/lua';

export interface LeaseOptions {
  redis: Redis;
  /** `{prefix}rollout-lease` */
  key: string;
  /** Names this replica in the token, so operators can see who leads (`GET <key>`). */
  identity: string;
  ttlMs: number;
}

/**
 * The rollout lease: a Redis key holding the token of the one replica that runs rollouts, set with
 * `SET NX PX` and renewed by a compare-and-expire script. The token is also the fence: every write
 * the leader makes checks, in the same atomic script, that the key still holds it.
 *
 * Locally the lease counts as held only until `ttl - margin` after the last successful acquire or
 * renew *started*, so a replica that cannot reach Redis stops acting before another can acquire.
 */
export class Lease {
  readonly key: string;
  private readonly redis: Redis;
  private readonly ttlMs: number;
  private readonly identity: string;
  private tokenValue: string | undefined;
  private validUntil = 0;

  constructor(options: LeaseOptions) {
    this.redis = options.redis;
    this.key = options.key;
    this.ttlMs = options.ttlMs;
    this.identity = options.identity;
  }

  /** The token while the lease is held, for fenced writes. */
  get token(): string | undefined {
    return this.isHeld() ? this.tokenValue : undefined;
  }

  isHeld(now = Date.now()): boolean {
    return this.tokenValue !== undefined && now < this.validUntil;
  }

  private margin(): number {
    return Math.max(Math.floor(this.ttlMs / 10), 50);
  }

  /**
   * Acquires the lease when free, renews it when held. Returns whether this replica holds it.
   * Throws when Redis fails; the lease then stays held locally until its local validity ends.
   */
  async acquireOrRenew(): Promise<boolean> {
    const started = Date.now();
    if (this.tokenValue !== undefined) {
      const renewed =
        (await withScripts(this.redis).leaseRenew(this.key, this.tokenValue, this.ttlMs)) === 1;
      if (renewed) {
        this.validUntil = started + this.ttlMs - this.margin();
        return true;
      }
      this.tokenValue = undefined;
      this.validUntil = 0;
    }
    const token = `${this.identity}/${crypto.randomUUID()}`;
    const set = await this.redis.set(this.key, token, 'PX', this.ttlMs, 'NX');
    if (set === 'OK') {
      this.tokenValue = token;
      this.validUntil = started + this.ttlMs - this.margin();
      return true;
    }
    return false;
  }

  /** Forgets the lease locally (after a write was refused as fenced). */
  drop(): void {
    this.tokenValue = undefined;
    this.validUntil = 0;
  }

  /** Gives the lease up so another replica can take over at once. */
  async release(): Promise<void> {
    const token = this.tokenValue;
    this.drop();
    if (token !== undefined) await withScripts(this.redis).leaseRelease(this.key, token);
  }

  /** The token in Redis now (whoever holds it), or null. */
  async holder(): Promise<string | null> {
    return this.redis.get(this.key);
  }
}
