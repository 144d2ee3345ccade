/** Weight per backend name. Non-negative integers. */
export type Weights = Record<string, number>;

/** Who made a change. `external` is a write that bypassed the service (redis-cli). */
export type ChangeSource = 'api' | 'cli' | 'controller' | 'external';

export type ChangeAction = 'set' | 'scale' | 'rollback' | 'promote' | 'external' | 'rollout';

export interface WriteRequest {
  split: string;
  /** Every backend of the split, explicitly: Traefik counts an omitted weight as 1. */
  weights: Weights;
  action: ChangeAction;
  source: ChangeSource;
  actor: string;
  reason?: string;
  /** When given, the write happens only if the split's current ETag equals it. */
  ifMatch?: string;
  /** Extra facts recorded with the audit event (e.g. the failed check of an automatic rollback). */
  details?: Record<string, unknown>;
}

export interface AuditEvent {
  id: string;
  /** ISO-8601, from the stream entry id. */
  time: string;
  split: string;
  action: ChangeAction;
  source: ChangeSource;
  actor: string;
  reason: string;
  /** The weights before and after; fields whose stored text was not a weight are left out. */
  before: Weights | null;
  after: Weights | null;
  /** Fields whose stored text was not a weight (e.g. `inf` typed with redis-cli), as that text. */
  beforeText?: Record<string, string>;
  afterText?: Record<string, string>;
  details?: Record<string, unknown>;
  /** What of the stored event could not be read (it is shown without those parts). */
  corrupt?: string[];
}

export interface WriteResult {
  etag: string;
  weights: Weights;
  event: AuditEvent;
}

/**
 * A fenced write: made only while `key` still holds `token`, so a writer whose lease has passed to
 * another never writes (the write is refused with LeaseLostError).
 */
export interface Fence {
  key: string;
  token: string;
}
