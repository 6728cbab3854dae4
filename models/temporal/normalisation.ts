/**
 * Feature statistics for normalisation, one computation for training and for `predict`: a bundle
 * with per-sequence normalisation z-scores each sequence with the moments of that sequence, so the
 * trainer and the runtime must get the same numbers from the same rows.
 */

export interface FeatureStats {
  mean: Float64Array;
  /** A constant feature gets 1 (it is only centred). */
  std: Float64Array;
}

/** Per-feature mean and (population) standard deviation, accumulated over chunks of rows. */
export class FeatureMoments {
  private readonly sum: Float64Array;
  private readonly sq: Float64Array;
  private n = 0;

  constructor(readonly dim: number) {
    this.sum = new Float64Array(dim);
    this.sq = new Float64Array(dim);
  }

  /** Adds `rows` (row-major, rows × dim). */
  add(rows: ArrayLike<number>): void {
    const { dim, sum, sq } = this;
    const count = rows.length / dim;
    for (let r = 0; r < count; r++) {
      for (let d = 0; d < dim; d++) {
        const v = rows[r * dim + d];
        sum[d] += v;
        sq[d] += v * v;
      }
    }
    this.n += count;
  }

  stats(): FeatureStats {
    const n = Math.max(this.n, 1);
    const mean = this.sum.map((v) => v / n);
    const std = this.sq.map((v, d) => Math.sqrt(Math.max(v / n - mean[d] ** 2, 0)) || 1);
    return { mean, std };
  }
}

/** x ← (x − mean) / std, in place, for rows × dim values. */
export function applyStats(rows: Float32Array, s: FeatureStats): Float32Array {
  const dim = s.mean.length;
  for (let i = 0; i < rows.length; i++) rows[i] = (rows[i] - s.mean[i % dim]) / s.std[i % dim];
  return rows;
}
