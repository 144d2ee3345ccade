import crypto from 'node:crypto';
import type { SplitConfig } from '../config/splits';
import { MAX_WEIGHT } from '../api-contract/limits';
import { allZero } from '../api-contract/weight-rules';
import type { Weights } from './types';

/** What a split's weights key holds, exactly as read from Redis. */
export type StoredWeights =
  | { kind: 'missing' }
  | { kind: 'hash'; fields: Record<string, string> }
  | { kind: 'wrong-type'; type: string };

export type WeightsVerdict =
  { valid: true; weights: Weights; fromDefaults: boolean } | { valid: false; problems: string[] };

/**
 * Canonical text of a stored value: one `<bytes>:<field>=<bytes>:<value>\n` line per field, sorted
 * by field, '' for a missing key, `!<type>` for a key of the wrong type. The byte lengths make it
 * unambiguous: a value containing a newline or `=` cannot pass for another hash. The write script
 * in Redis computes the same text, so the ETag (its SHA-1) is the same whether Redis or the
 * service computes it.
 */
export function canonicalStored(stored: StoredWeights): string {
  switch (stored.kind) {
    case 'missing':
      return '';
    case 'wrong-type':
      return `!${stored.type}`;
    case 'hash':
      return Object.keys(stored.fields)
        .sort(compareBytes)
        .map((f) => canonicalLine(f, stored.fields[f]))
        .join('');
  }
}

function canonicalLine(field: string, value: string): string {
  return `${Buffer.byteLength(field)}:${field}=${Buffer.byteLength(value)}:${value}\n`;
}

/** Lua compares strings byte-wise; so must we, for both sides to sort alike. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function etagOf(canonical: string): string {
  return `"${crypto.createHash('sha1').update(canonical).digest('hex')}"`;
}

const WEIGHT_TEXT = /^(0|[1-9][0-9]{0,6})$/;

/**
 * Whether stored text is a weight as the service writes it: a decimal integer from 0 to
 * MAX_WEIGHT without sign, spaces or leading zeros. The scripts in Redis decide alike.
 */
export function isWeightText(text: string): boolean {
  return WEIGHT_TEXT.test(text) && Number(text) <= MAX_WEIGHT;
}

/** At most this many fields are named in a verdict's problems, however large the hash. */
export const MAX_PROBLEMS = 20;

/** Stored text as quoted in a problem: at most 64 characters. */
export function clip(text: string, max = 64): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/**
 * Decides what a split may serve from what Redis holds. A missing key means the split's
 * defaultWeights; a backend missing from the hash takes its default weight, so that the emergency
 * `HSET <key> canary 0` always works, even on a key that did not exist.
 */
export function validateStoredWeights(split: SplitConfig, stored: StoredWeights): WeightsVerdict {
  if (stored.kind === 'missing') {
    return { valid: true, weights: { ...split.defaultWeights }, fromDefaults: true };
  }
  if (stored.kind === 'wrong-type') {
    return { valid: false, problems: [`the key holds a ${stored.type}, expected a hash`] };
  }
  const problems: string[] = [];
  const weights: Weights = { ...split.defaultWeights };
  const known = split.backends.map((b) => b.name);
  const listed = Object.keys(stored.fields).sort(compareBytes);
  for (const field of listed.slice(0, MAX_PROBLEMS)) {
    const raw = stored.fields[field];
    if (!known.includes(field)) {
      problems.push(
        `field ${JSON.stringify(clip(field))} is not a backend of the split (backends: ${known.join(', ')})`,
      );
      continue;
    }
    if (!WEIGHT_TEXT.test(raw)) {
      problems.push(
        /^[0-9]+$/.test(raw) && raw.length <= 64
          ? raw.startsWith('0')
            ? `weight of "${field}" is "${raw}", not a non-negative integer without leading zeros`
            : `weight of "${field}" is ${raw}, above the maximum ${MAX_WEIGHT}`
          : `weight of "${field}" is ${JSON.stringify(clip(raw))}, not a non-negative integer`,
      );
      continue;
    }
    if (!isWeightText(raw)) {
      problems.push(`weight of "${field}" is ${raw}, above the maximum ${MAX_WEIGHT}`);
      continue;
    }
    weights[field] = Number(raw);
  }
  if (listed.length > MAX_PROBLEMS) {
    problems.push(`… and ${listed.length - MAX_PROBLEMS} more fields not checked`);
  }
  if (problems.length === 0 && allZero(weights)) {
    problems.push('every weight is 0: Traefik would answer 503 to every request');
  }
  return problems.length > 0
    ? { valid: false, problems }
    : { valid: true, weights, fromDefaults: false };
}

/** Share of each backend in percent (0-100), rounded to two decimals. */
export function sharesOf(weights: Weights): Record<string, number> {
  const sum = Object.values(weights).reduce((a, b) => a + b, 0);
  const shares: Record<string, number> = {};
  for (const [name, w] of Object.entries(weights)) {
    shares[name] = sum === 0 ? 0 : Math.round((w / sum) * 10_000) / 100;
  }
  return shares;
}
