/**
 * Validation: a model's per-row predictions over whole sequences (segments in order, state carried)
 * and their challenge metrics, computed by the one evaluator (common/evaluation.ts).
 */
import { Evaluator, type Scores } from '../../common/evaluation.js';
import { AUS, EXPRESSIONS, type Task } from '../../common/labels.js';
import type { TrainSequence } from './dataset.js';
import type { TrainableModel } from './network.js';
import { segmentTensors } from './segments.js';
import { tf } from './tf.js';

/** The headline validation figures an epoch record keeps (NaN: a task without validation labels). */
export interface ValMetrics {
  cccValence: number;
  cccArousal: number;
  f1Expression: number;
  f1Au: number;
  /** AU F1 with each AU's threshold tuned on these labels (an upper bound, reported beside the 0.5 figure). */
  f1AuTuned: number;
  pMtl: number;
}

/** Per-row predictions of a model over whole sequences (segments in order, state carried). */
export function predictSequences(model: TrainableModel, seqs: TrainSequence[], dim: number, batchSize = 8): { v: Float32Array; a: Float32Array; e: Float32Array; au: Float32Array }[] {
  const L = model.config.segmentLength;
  const out = seqs.map((s) => ({ v: new Float32Array(s.frames.length), a: new Float32Array(s.frames.length), e: new Float32Array(s.frames.length * 8), au: new Float32Array(s.frames.length * 12) }));
  for (let b0 = 0; b0 < seqs.length; b0 += batchSize) {
    const batch = seqs.slice(b0, b0 + batchSize);
    const maxLen = Math.max(...batch.map((s) => s.frames.length));
    let state = model.zeroState(batch.length);
    for (let start = 0; start < maxLen; start += L) {
      const T = Math.min(L, maxLen - start);
      const next = tf.tidy(() => {
        const seg = segmentTensors(batch, start, T, dim);
        const { outputs, state: st } = model.forward(seg.x, state, { training: false, mask: seg.mask });
        const get = (t: Task, f: (x: tf.Tensor) => tf.Tensor) => (outputs[t] ? (f(outputs[t] as tf.Tensor).dataSync() as Float32Array) : undefined);
        const v = get('valence', (x) => tf.clipByValue(x, -1, 1));
        const a = get('arousal', (x) => tf.clipByValue(x, -1, 1));
        const e = get('expression', (x) => tf.softmax(x));
        const au = get('au', (x) => tf.sigmoid(x));
        batch.forEach((s, bi) => {
          const rows = Math.min(T, s.frames.length - start);
          for (let t = 0; t < rows; t++) {
            const i = bi * T + t;
            const r = start + t;
            const o = out[b0 + bi];
            if (v) o.v[r] = v[i];
            if (a) o.a[r] = a[i];
            if (e) o.e.set(e.subarray(i * 8, i * 8 + 8), r * 8);
            if (au) o.au.set(au.subarray(i * 12, i * 12 + 12), r * 12);
          }
        });
        return Object.fromEntries(st) as Record<string, tf.Tensor>;
      });
      for (const t of state.values()) t.dispose();
      state = new Map(Object.entries(next));
    }
    for (const t of state.values()) t.dispose();
  }
  return out;
}

/** The challenge metrics of per-row predictions against the sequences' labels (the one evaluator). */
export function evaluatePredictions(seqs: TrainSequence[], preds: ReturnType<typeof predictSequences>, auThresholds?: number[]): Scores {
  const evaluator = new Evaluator();
  const E = EXPRESSIONS.length, A = AUS.length;
  seqs.forEach((s, i) => {
    const p = preds[i];
    for (let r = 0; r < s.frames.length; r++) {
      evaluator.add(
        { valence: p.v[r], arousal: p.a[r], expression: p.e.subarray(r * E, (r + 1) * E), au: p.au.subarray(r * A, (r + 1) * A) },
        { valence: s.valence[r], arousal: s.arousal[r], expression: s.expression[r], au: s.au.subarray(r * A, (r + 1) * A) },
      );
    }
  });
  return evaluator.scores(auThresholds);
}

/** The headline figures of a validation, as the epoch records and the UI keep them. */
export const valMetrics = (s: Scores): ValMetrics => ({ cccValence: s.cccValence, cccArousal: s.cccArousal, f1Expression: s.f1Expression, f1Au: s.f1Au, f1AuTuned: s.f1AuTuned, pMtl: s.pMtl });
