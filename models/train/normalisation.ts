/**
 * Feature normalisation for training: statistics over the training set (kept in the exported graph)
 * or per sequence (computed again at run time).
 */
import type { TrainConfig } from './config.js';
import type { TrainSequence } from './dataset.js';

export interface Normalisation {
  mean: Float32Array;
  std: Float32Array;
}

/** Per-feature mean and standard deviation over every frame of the training set. */
export function trainStatistics(seqs: TrainSequence[], dim: number): Normalisation {
  const sum = new Float64Array(dim);
  const sq = new Float64Array(dim);
  let n = 0;
  for (const s of seqs) {
    const rows = s.features.length / dim;
    for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) {
      const v = s.features[r * dim + d];
      sum[d] += v;
      sq[d] += v * v;
    }
    n += rows;
  }
  const mean = Float32Array.from(sum, (v) => v / Math.max(n, 1));
  const std = Float32Array.from(sq, (v, d) => Math.sqrt(Math.max(v / Math.max(n, 1) - mean[d] ** 2, 0)) || 1);
  return { mean, std };
}

/** Normalised copies of the sequences' features (the originals are kept for export checks). */
export function normalise(seqs: TrainSequence[], dim: number, how: TrainConfig['normalization'], stats?: Normalisation): TrainSequence[] {
  if (how === 'none') return seqs;
  return seqs.map((s) => {
    const { mean, std } = how === 'per-sequence' ? trainStatistics([s], dim) : (stats as Normalisation);
    const f = new Float32Array(s.features.length);
    for (let i = 0; i < f.length; i++) f[i] = (s.features[i] - mean[i % dim]) / std[i % dim];
    return { ...s, features: f };
  });
}
