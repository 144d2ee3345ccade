/**
 * What an If-Match header asks for (RFC 9110, 13.1.1), as the write script takes it:
 * - absent: '' (write unconditionally);
 * - `*`: '*' (write only if the split's key exists);
 * - otherwise the strong entity tags it lists, space-separated, or '-' when it lists none. A weak
 *   tag (`W/"…"`) never satisfies If-Match, and an empty, blank or malformed header matches
 *   nothing: a condition that was sent is never dropped.
 */
export function ifMatchCondition(header: string | undefined): string {
  if (header === undefined) return '';
  if (header.trim() === '*') return '*';
  const tags: string[] = [];
  for (const part of header.split(',')) {
    const m = /^\s*"([0-9a-f]{40})"\s*$/.exec(part);
    if (m) tags.push(m[1]);
  }
  return tags.length > 0 ? tags.join(' ') : '-';
}
