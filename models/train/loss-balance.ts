/**
 * Class balance of the training labels, for the loss: per-AU positive weights (negatives ÷ positives,
 * PyTorch's pos_weight) and expression class weights (inverse frequency). A heavily weighted main
 * task (V and A at 12 against AU 1 and expression 0.35) leaves the classification heads at the
 * majority answer — "AU absent", "Neutral" — for many epochs unless their minority labels count more.
 */
import { AUS, EXPRESSIONS } from '../../common/labels.js';
import type { TrainConfig } from './config.js';
import type { TrainSequence } from './dataset.js';

export interface LossBalance {
  /** 12 weights of the positive class, one per AU (absent: 1). */
  auPositive?: Float32Array;
  /** 8 class weights (absent: 1). */
  expression?: Float32Array;
}

export function lossBalance(seqs: TrainSequence[], tc: Pick<TrainConfig, 'auPositiveWeight' | 'expressionClassWeight'>): LossBalance {
  const balance: LossBalance = {};
  if (tc.auPositiveWeight === 'prevalence') {
    const pos = new Float64Array(AUS.length), neg = new Float64Array(AUS.length);
    for (const s of seqs) for (let i = 0; i < s.au.length; i++) {
      if (s.au[i] === 1) pos[i % AUS.length]++;
      else if (s.au[i] === 0) neg[i % AUS.length]++;
    }
    // an AU that is never (or always) present in the labels keeps weight 1
    balance.auPositive = Float32Array.from(pos, (p, j) => (p > 0 && neg[j] > 0 ? neg[j] / p : 1));
  }
  if (tc.expressionClassWeight === 'balanced') {
    const counts = new Float64Array(EXPRESSIONS.length);
    for (const s of seqs) for (const e of s.expression) if (e >= 0) counts[e]++;
    const total = counts.reduce((a, b) => a + b, 0);
    const present = counts.filter((c) => c > 0).length;
    balance.expression = Float32Array.from(counts, (c) => (c > 0 ? total / (present * c) : 1));
  }
  return balance;
}
