/** Small, allocation-light pieces of HTTP content negotiation for the hot GET /traefik path. */

/** The q value (RFC 9110, 12.4.2) the header gives a token matching `match`; 0 when not listed. */
export function qualityOf(header: string | undefined, match: (token: string) => boolean): number {
  if (header === undefined) return 0;
  let best = 0;
  for (const part of header.split(',')) {
    const [token, ...params] = part.split(';');
    if (!match(token.trim().toLowerCase())) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (Number.isFinite(q) && q > best) best = q;
  }
  return best;
}

/**
 * Whether If-None-Match names `etag` (weak comparison, as RFC 9110 says for If-None-Match: `W/"x"`
 * matches `"x"`), or is `*`.
 */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === opaque;
  });
}
