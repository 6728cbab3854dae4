/**
 * One training step's data and loss: a segment of a batch of sequences as tensors (features, frame
 * mask, labels and label masks) and the masked multi-task loss over it.
 */
import { EXPRESSIONS, type Task } from '../../common/labels.js';
import type { TrainConfig } from './config.js';
import type { TrainSequence } from './dataset.js';
import type { LossBalance } from './loss-balance.js';
import type { FeedbackTruth } from './network.js';
import { tf } from './tf.js';

/** One segment of a batch of sequences as tensors: features, frame mask, labels and label masks. */
export function segmentTensors(batch: TrainSequence[], start: number, T: number, dim: number) {
  const B = batch.length;
  const x = new Float32Array(B * T * dim);
  const mask = new Float32Array(B * T);
  const v = new Float32Array(B * T), vm = new Float32Array(B * T);
  const a = new Float32Array(B * T), am = new Float32Array(B * T);
  const e = new Int32Array(B * T), em = new Float32Array(B * T);
  const au = new Float32Array(B * T * 12), aum = new Float32Array(B * T * 12);
  batch.forEach((s, b) => {
    const rows = s.frames.length;
    if (start < rows) x.set(s.features.read(start, Math.min(T, rows - start)), b * T * dim);
    for (let t = 0; t < T; t++) {
      const r = start + t;
      if (r >= rows) break;
      const i = b * T + t;
      mask[i] = 1;
      if (!Number.isNaN(s.valence[r])) (v[i] = s.valence[r]), (vm[i] = 1);
      if (!Number.isNaN(s.arousal[r])) (a[i] = s.arousal[r]), (am[i] = 1);
      if (s.expression[r] >= 0) (e[i] = s.expression[r]), (em[i] = 1);
      for (let j = 0; j < 12; j++) {
        const l = s.au[r * 12 + j];
        if (l >= 0) (au[i * 12 + j] = l), (aum[i * 12 + j] = 1);
      }
    }
  });
  return {
    x: tf.tensor3d(x, [B, T, dim]),
    mask: tf.tensor2d(mask, [B, T]),
    v: tf.tensor2d(v, [B, T]), vm: tf.tensor2d(vm, [B, T]),
    a: tf.tensor2d(a, [B, T]), am: tf.tensor2d(am, [B, T]),
    e: tf.tensor2d(e, [B, T], 'int32'), em: tf.tensor2d(em, [B, T]),
    au: tf.tensor3d(au, [B, T, 12]), aum: tf.tensor3d(aum, [B, T, 12]),
  };
}

export type Seg = ReturnType<typeof segmentTensors>;

const maskedMean = (values: tf.Tensor, mask: tf.Tensor): tf.Scalar => tf.div(tf.sum(tf.mul(values, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;

/** Σ w·x / Σ w over the masked entries: a weighted mean, as PyTorch's weighted losses reduce. */
const weightedMean = (values: tf.Tensor, weights: tf.Tensor): tf.Scalar => tf.div(tf.sum(tf.mul(values, weights)), tf.maximum(tf.sum(weights), 1e-12)) as tf.Scalar;

/**
 * The multi-task loss of one segment, each task over its valid labels only; with a `balance`, AU
 * positives and expression classes weighted (loss-balance.ts).
 */
export function segmentLoss(out: Partial<Record<Task, tf.Tensor>>, s: Seg, w: TrainConfig['lossWeights'], balance: LossBalance = {}): { total: tf.Scalar; parts: Record<Task, tf.Scalar> } {
  const zero = tf.scalar(0);
  const expression = (x: tf.Tensor): tf.Scalar => {
    const ce = tf.neg(tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(s.e, EXPRESSIONS.length)), -1));
    if (!balance.expression) return maskedMean(ce, s.em);
    return weightedMean(ce, tf.mul(tf.gather(tf.tensor1d(balance.expression), s.e), s.em));
  };
  // BCE with logits, the stable form: (1 − y)·x + (1 + (p − 1)·y)·(log(1 + e^−|x|) + max(−x, 0)),
  // p the positive weight (1: max(x, 0) − x·y + log(1 + e^−|x|))
  const au = (x: tf.Tensor): tf.Scalar => {
    const softplusNeg = tf.add(tf.log1p(tf.exp(tf.neg(tf.abs(x)))), tf.relu(tf.neg(x)));
    const scale = balance.auPositive ? tf.add(1, tf.mul(tf.sub(tf.tensor1d(balance.auPositive), 1), s.au)) : 1;
    return maskedMean(tf.add(tf.mul(tf.sub(1, s.au), x), tf.mul(scale, softplusNeg)), s.aum);
  };
  const parts: Record<Task, tf.Scalar> = {
    valence: out.valence ? maskedMean(tf.square(tf.sub(out.valence, s.v)), s.vm) : zero,
    arousal: out.arousal ? maskedMean(tf.square(tf.sub(out.arousal, s.a)), s.am) : zero,
    expression: out.expression ? expression(out.expression) : zero,
    au: out.au ? au(out.au) : zero,
  };
  const total = tf.addN([tf.mul(parts.valence, w.valence), tf.mul(parts.arousal, w.arousal), tf.mul(parts.expression, w.expression), tf.mul(parts.au, w.au)]) as tf.Scalar;
  return { total, parts };
}

/** The ground truth the feedback framework mixes into its inputs during training. */
export function truthOf(s: Seg): FeedbackTruth {
  return {
    valence: { value: s.v, valid: s.vm },
    arousal: { value: s.a, valid: s.am },
    expression: { value: tf.oneHot(s.e, EXPRESSIONS.length).toFloat() as tf.Tensor3D, valid: s.em },
    au: { value: s.au, valid: s.aum },
  };
}
