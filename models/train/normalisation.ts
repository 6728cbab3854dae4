/**
 * Feature normalisation for training: statistics over every grid row of the training set (kept in
 * the exported graph) or per sequence (the runtime computes them again over the same rows, with the
 * same code: models/temporal/normalisation.ts). Rows are normalised as they are read.
 */
import type { FeatureRows } from '../data/feature-rows.js';
import { applyStats, FeatureMoments, type FeatureStats } from '../temporal/normalisation.js';
import type { TrainConfig } from './config.js';
import type { TrainSequence } from './dataset.js';

export interface Normalisation {
  mean: Float32Array;
  std: Float32Array;
}

const CHUNK = 1024;

function moments(seqs: TrainSequence[], dim: number): FeatureMoments {
  const m = new FeatureMoments(dim);
  for (const s of seqs) for (let start = 0; start < s.features.length; start += CHUNK) m.add(s.features.read(start, Math.min(CHUNK, s.features.length - start)));
  return m;
}

/** Per-feature mean and standard deviation over every row of the training set. */
export function trainStatistics(seqs: TrainSequence[], dim: number): Normalisation {
  const { mean, std } = moments(seqs, dim).stats();
  return { mean: Float32Array.from(mean), std: Float32Array.from(std) };
}

const normalisedRows = (rows: FeatureRows, stats: FeatureStats): FeatureRows => ({
  length: rows.length,
  dim: rows.dim,
  read: (start, count, into) => applyStats(rows.read(start, count, into), stats),
});

/** The sequences with their features normalised on reading (the originals are kept for export checks). */
export function normalise(seqs: TrainSequence[], dim: number, how: TrainConfig['normalization'], stats?: Normalisation): TrainSequence[] {
  if (how === 'none') return seqs;
  const shared = stats && { mean: Float64Array.from(stats.mean), std: Float64Array.from(stats.std) };
  return seqs.map((s) => ({ ...s, features: normalisedRows(s.features, how === 'per-sequence' ? moments([s], dim).stats() : (shared as FeatureStats)) }));
}
