import crypto from 'node:crypto';
import type { SplitConfig } from '../config/splits';
import { MAX_WEIGHT } from '../config/splits-schema';
import type { Weights } from './types';

/** What a split's weights key holds, exactly as read from Redis. */
export type StoredWeights =
  | { kind: 'missing' }
  | { kind: 'hash'; fields: Record<string, string> }
  | { kind: 'wrong-type'; type: string };

export type WeightsVerdict =
  { valid: true; weights: Weights; fromDefaults: boolean } | { valid: false; problems: string[] };

/**
 * Canonical text of a stored value: sorted `field=value\n` lines, '' for a missing key, `!<type>`
 * for a key of the wrong type. The write script in Redis computes the same text, so the ETag
 * (its SHA-1) is the same whether Redis or the service computes it.
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
        .map((f) => `${f}=${stored.fields[f]}\n`)
        .join('');
  }
}

/** Lua compares strings byte-wise; so must we, for both sides to sort alike. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function etagOf(canonical: string): string {
  return `"${crypto.createHash('sha1').update(canonical).digest('hex')}"`;
}

const INTEGER = /^[0-9]+$/;

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
  for (const field of Object.keys(stored.fields).sort(compareBytes)) {
    const raw = stored.fields[field];
    if (!known.includes(field)) {
      problems.push(
        `field "${field}" is not a backend of the split (backends: ${known.join(', ')})`,
      );
      continue;
    }
    if (!INTEGER.test(raw)) {
      problems.push(`weight of "${field}" is "${raw}", not a non-negative integer`);
      continue;
    }
    const value = Number(raw);
    if (value > MAX_WEIGHT) {
      problems.push(`weight of "${field}" is ${raw}, above the maximum ${MAX_WEIGHT}`);
      continue;
    }
    weights[field] = value;
  }
  if (problems.length === 0 && Object.values(weights).every((w) => w === 0)) {
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
