/**
 * After the models: smoothing of valence and arousal, and the ensemble of several bundles.
 */
import { smooth } from '../../../models/temporal/smoothing.js';

/** Per-frame predictions of one sequence: V/A in [-1, 1], class and AU probabilities in [0, 1]. */
export interface SequencePrediction {
  valence?: Float32Array;
  arousal?: Float32Array;
  /** T × 8 */
  expression?: Float32Array;
  /** T × 12 */
  au?: Float32Array;
}

export function smoothPrediction(p: SequencePrediction, windows: { valence: number; arousal: number }): SequencePrediction {
  return {
    ...p,
    valence: p.valence && smooth(p.valence, windows.valence),
    arousal: p.arousal && smooth(p.arousal, windows.arousal),
  };
}

/**
 * Weighted mean of several bundles' predictions of one sequence: V/A values, class probabilities
 * and AU probabilities. A task is averaged over the bundles that predict it.
 */
export function ensemble(members: SequencePrediction[], weights: number[] = members.map(() => 1)): SequencePrediction {
  if (members.length === 1) return members[0];
  const out: SequencePrediction = {};
  for (const task of ['valence', 'arousal', 'expression', 'au'] as const) {
    const having = members.map((m, i) => [m[task], weights[i]] as const).filter(([v]) => v !== undefined) as [Float32Array, number][];
    if (!having.length) continue;
    const total = having.reduce((a, [, w]) => a + w, 0);
    const acc = new Float32Array(having[0][0].length);
    for (const [v, w] of having) for (let i = 0; i < acc.length; i++) acc[i] += (v[i] * w) / total;
    out[task] = acc;
  }
  return out;
}
