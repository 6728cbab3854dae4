/**
 * One training step's data and loss: a segment of a batch of sequences as tensors (features, frame
 * mask, labels and label masks) and the masked multi-task loss over it.
 */
import { EXPRESSIONS, type Task } from '../../common/labels.js';
import type { TrainConfig } from './config.js';
import type { TrainSequence } from './dataset.js';
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
    for (let t = 0; t < T; t++) {
      const r = start + t;
      if (r >= rows) break;
      const i = b * T + t;
      x.set(s.features.subarray(r * dim, (r + 1) * dim), i * dim);
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

/** The multi-task loss of one segment, each task over its valid labels only. */
export function segmentLoss(out: Partial<Record<Task, tf.Tensor>>, s: Seg, w: TrainConfig['lossWeights']): { total: tf.Scalar; parts: Record<Task, tf.Scalar> } {
  const zero = tf.scalar(0);
  const parts: Record<Task, tf.Scalar> = {
    valence: out.valence ? maskedMean(tf.square(tf.sub(out.valence, s.v)), s.vm) : zero,
    arousal: out.arousal ? maskedMean(tf.square(tf.sub(out.arousal, s.a)), s.am) : zero,
    expression: out.expression
      ? maskedMean(tf.neg(tf.sum(tf.mul(tf.logSoftmax(out.expression), tf.oneHot(s.e, EXPRESSIONS.length)), -1)), s.em)
      : zero,
    // BCE with logits, the stable form: max(x, 0) − x·y + log(1 + e^−|x|)
    au: out.au ? maskedMean(tf.add(tf.sub(tf.relu(out.au), tf.mul(out.au, s.au)), tf.log1p(tf.exp(tf.neg(tf.abs(out.au))))), s.aum) : zero,
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
