import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SplitsConfig } from '../config/splits';
import type { Weights } from '../store/types';

/**
 * The last-good snapshot: the body last served from Redis, kept on disk so that a replica that
 * starts while Redis is away has something to give Traefik. It is only valid for the splits it
 * was built from, so it carries their hash.
 */
export interface Snapshot {
  /** Hash of the parsed splits file the body was built from (splitsHashOf). */
  splitsHash: string;
  /** When the body was written, ISO 8601. */
  writtenAt: string;
  /** The weights each split served. */
  served: Record<string, Weights>;
  /** The exact bytes served on GET /traefik. */
  body: Buffer;
}

export type SnapshotRead =
  | { kind: 'ok'; snapshot: Snapshot }
  | { kind: 'missing' }
  | { kind: 'other-splits'; splitsHash: string; writtenAt: string }
  | { kind: 'corrupt'; reason: string };

const FORMAT = 1;

/** A hash of the splits as parsed: comments and layout of the file do not change it. */
export function splitsHashOf(splits: SplitsConfig): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(splits.splits)).digest('hex')}`;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * Writes the snapshot atomically: to a temporary file in the same directory, flushed to disk,
 * then renamed over the old one, so a reader (or a crash) sees the old file or the new one, never
 * a part. Readable by the owner only: the body may carry backend URLs with credentials.
 */
export async function writeSnapshotFile(file: string, snapshot: Snapshot): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const text = JSON.stringify({
    format: FORMAT,
    splitsHash: snapshot.splitsHash,
    writtenAt: snapshot.writtenAt,
    served: snapshot.served,
    bodySha256: sha256(snapshot.body),
    body: snapshot.body.toString('utf8'),
  });
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    const handle = await fs.open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  // The rename itself must reach the disk too.
  const dirHandle = await fs.open(dir, 'r');
  try {
    await dirHandle.sync();
  } catch {
    // some file systems cannot sync a directory; the rename stands
  } finally {
    await dirHandle.close();
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function isWeights(v: unknown): v is Weights {
  return (
    isRecord(v) &&
    Object.values(v).every((w) => typeof w === 'number' && Number.isInteger(w) && w >= 0)
  );
}

/**
 * Reads the snapshot for the splits hashed as `splitsHash`. Never throws: a missing file, one for
 * other splits and one that is not a whole snapshot each come back as their own kind.
 */
export async function readSnapshotFile(file: string, splitsHash: string): Promise<SnapshotRead> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'corrupt', reason: `cannot be read: ${(err as Error).message}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { kind: 'corrupt', reason: `is not JSON: ${(err as Error).message}` };
  }
  if (!isRecord(parsed)) return { kind: 'corrupt', reason: 'is not a JSON object' };
  const { format, writtenAt, body, bodySha256, served } = parsed;
  if (format !== FORMAT) {
    return { kind: 'corrupt', reason: `has format ${JSON.stringify(format)}, not ${FORMAT}` };
  }
  if (typeof parsed.splitsHash !== 'string' || typeof writtenAt !== 'string') {
    return { kind: 'corrupt', reason: 'lacks splitsHash or writtenAt' };
  }
  if (Number.isNaN(Date.parse(writtenAt))) {
    return { kind: 'corrupt', reason: `writtenAt is not a time: ${JSON.stringify(writtenAt)}` };
  }
  if (parsed.splitsHash !== splitsHash) {
    return { kind: 'other-splits', splitsHash: parsed.splitsHash, writtenAt };
  }
  if (typeof body !== 'string' || typeof bodySha256 !== 'string') {
    return { kind: 'corrupt', reason: 'lacks the body or its checksum' };
  }
  const bytes = Buffer.from(body, 'utf8');
  if (sha256(bytes) !== bodySha256) {
    return { kind: 'corrupt', reason: 'the body does not match its checksum' };
  }
  try {
    if (!isRecord(JSON.parse(body))) throw new Error('not an object');
  } catch {
    return { kind: 'corrupt', reason: 'the body is not a JSON object' };
  }
  if (!isRecord(served) || !Object.values(served).every(isWeights)) {
    return { kind: 'corrupt', reason: 'served is not weights per split' };
  }
  return {
    kind: 'ok',
    snapshot: { splitsHash, writtenAt, served: served as Record<string, Weights>, body: bytes },
  };
}
