/**
 * Smoothing of valence and arousal: a centred moving average over ±w frames, truncated at the
 * edges (each frame averages the neighbours that exist); w = 0 leaves the values as they are.
 * Used by predict and by training export (which tunes w on validation).
 */
export function smooth(values: Float32Array, w: number): Float32Array {
  if (w <= 0 || values.length < 2) return Float32Array.from(values);
  const n = values.length;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + values[i];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const lo = Math.max(0, i - w);
    const hi = Math.min(n - 1, i + w);
    out[i] = (prefix[hi + 1] - prefix[lo]) / (hi - lo + 1);
  }
  return out;
}

/**
 * The same moving average over a sequence whose values arrive in pieces (a long video's
 * predictions are never all in memory): `push` values in order; each call returns the smoothed
 * values that are final so far (those with w values after them, or all once the sequence's
 * `length` is reached). The arithmetic is that of `smooth`, so both give the same numbers.
 */
export class StreamingSmoother {
  /** prefix[i] = sum of the first i values, kept for the last 2w + 2 positions (all a value needs). */
  private readonly prefix: Float64Array;
  private received = 0;
  private emitted = 0;
  private sum = 0;

  constructor(
    private readonly w: number,
    readonly length: number,
  ) {
    this.prefix = new Float64Array(2 * Math.max(w, 0) + 2);
  }

  push(values: ArrayLike<number>): Float32Array {
    const n = this.length;
    if (this.received + values.length > n) throw new Error(`smoothing: ${this.received + values.length} values for a sequence of ${n}`);
    // smooth() leaves these as they are
    if (this.w <= 0 || n < 2) {
      this.received += values.length;
      this.emitted = this.received;
      return Float32Array.from(values);
    }
    const out: number[] = [];
    for (let k = 0; k < values.length; k++) {
      this.sum += values[k];
      this.received++;
      this.prefix[this.received % this.prefix.length] = this.sum;
      // value i is final once the sum up to i + w is known
      if (this.received - this.w - 1 >= this.emitted) out.push(this.value(this.emitted++));
    }
    if (this.received === n) while (this.emitted < n) out.push(this.value(this.emitted++));
    return Float32Array.from(out);
  }

  private value(i: number): number {
    const lo = Math.max(0, i - this.w);
    const hi = Math.min(this.length - 1, i + this.w);
    const p = this.prefix;
    return (p[(hi + 1) % p.length] - p[lo % p.length]) / (hi - lo + 1);
  }
}
