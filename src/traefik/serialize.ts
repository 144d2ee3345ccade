import crypto from 'node:crypto';
import YAML from 'yaml';

/** Returns a copy whose object keys are sorted at every depth; arrays keep their order. */
export function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalize);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      out[key] = canonicalize((value as Record<string, unknown>)[key]);
    }
    return out;
  }
  return value;
}

/** A strong ETag of a serialized configuration. */
export function configEtag(json: Buffer): string {
  return `"${crypto.createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
}

export interface SerializedConfiguration {
  json: Buffer;
  /** A strong ETag of the configuration (same for every representation of it). */
  etag: string;
  /** Built on first use: most pollers ask for JSON only. */
  yaml(): Buffer;
}

/**
 * Byte-deterministic serialization (Traefik hashes the body; equal state must give
 * equal bytes): sorted keys, no timestamps, no volatile fields.
 */
export function serialize(config: unknown): SerializedConfiguration {
  const canonical = canonicalize(config);
  const json = Buffer.from(JSON.stringify(canonical));
  const etag = configEtag(json);
  let yaml: Buffer | undefined;
  return {
    json,
    etag,
    yaml: () => (yaml ??= Buffer.from(YAML.stringify(canonical, { lineWidth: 0 }))),
  };
}
