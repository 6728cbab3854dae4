/**
 * The constant predictor of a training set, scored on a validation set: the training means of V and
 * A, the most frequent expression, and every AU present — for F1 at 0.5 the best constant answer
 * ("always absent" scores 0). What a model must beat to have learned anything.
 */
import type { TrainSequence } from '../../models/train/dataset.js';
import { evaluatePredictions } from '../../models/train/validation.js';
import type { Scores } from '../../common/evaluation.js';

export function constantBaseline(train: TrainSequence[], val: TrainSequence[]): Scores {
  const mean = (k: 'valence' | 'arousal') => {
    const v = train.flatMap((s) => Array.from(s[k]).filter((x) => !Number.isNaN(x)));
    return v.reduce((a, b) => a + b, 0) / v.length;
  };
  const counts = new Array(8).fill(0);
  for (const s of train) for (const e of s.expression) if (e >= 0) counts[e]++;
  const e = new Float32Array(8);
  e[counts.indexOf(Math.max(...counts))] = 1;
  return evaluatePredictions(val, val.map((s) => ({
    v: new Float32Array(s.frames.length).fill(mean('valence')),
    a: new Float32Array(s.frames.length).fill(mean('arousal')),
    e: Float32Array.from({ length: s.frames.length * 8 }, (_, i) => e[i % 8]),
    au: new Float32Array(s.frames.length * 12).fill(1),
  })));
}
