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
