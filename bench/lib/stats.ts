/** Nearest-rank percentile of `values` (p in 0..100); NaN when empty. Does not modify the input. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sorted[rank - 1];
}

export function median(values: ArrayLike<number>): number {
  return percentile(values, 50);
}

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(values: ArrayLike<number>): Summary {
  return {
    n: values.length,
    p50: round(percentile(values, 50)),
    p99: round(percentile(values, 99)),
    max: round(percentile(values, 100)),
  };
}

/** Rounds to 3 significant decimals for reports (JSON keeps numbers readable). */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Grows as needed; avoids a JS array of boxed numbers when a run records ~10^5 latencies. */
export class Samples {
  private buf = new Float64Array(1 << 16);
  private len = 0;

  push(value: number): void {
    if (this.len === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.len++] = value;
  }

  get length(): number {
    return this.len;
  }

  values(): Float64Array {
    return this.buf.subarray(0, this.len);
  }
}
