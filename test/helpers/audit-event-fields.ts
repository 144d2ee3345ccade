/** The fields of an audit event as the service stores it in a split's events stream. */
export interface AuditEventFields {
  action: string;
  source: string;
  actor: string;
  reason: string;
  /** JSON of the weights before and after (or whatever a test wants to corrupt them into). */
  before: string;
  after: string;
  details?: string;
}

/**
 * An audit event as XADD's field-value list, in the order given, so a test that writes an event by
 * hand names each field beside its value.
 */
export function auditEventFields(event: AuditEventFields): string[] {
  return Object.entries(event).flatMap(([field, value]) =>
    value === undefined ? [] : [field, value],
  );
}
