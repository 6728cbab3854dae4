import { beforeAll, describe, expect, it } from 'vitest';
import { AUS } from '../../common/labels.js';
import { rowsInMemory } from '../../models/data/feature-rows.js';
import { seededRandom } from '../../models/temporal/params.js';
import { TrainConfigSchema, temporalConfig } from '../../models/train/config.js';
import type { TrainSequence } from '../../models/train/dataset.js';
import { lossBalance } from '../../models/train/loss-balance.js';
import { segmentLoss } from '../../models/train/segments.js';
import { trainModel, type Progress } from '../../models/train/trainer.js';
import { tf, tfReady } from '../../models/train/tf.js';
import { freshDir } from '../helpers/fixtures.js';

beforeAll(async () => {
  await tfReady();
});

/** A sequence of `n` random frames (3 features) with valence labels and one AU, in memory. */
function sequence(n: number, seed: number): TrainSequence {
  const r = seededRandom(seed);
  const au = new Int8Array(n * AUS.length).fill(-1);
  for (let i = 0; i < n; i++) au[i * AUS.length] = r() < 0.25 ? 1 : 0;
  return {
    video: `v${seed}`, frames: Array.from({ length: n }, (_, i) => i + 1), features: rowsInMemory(Float32Array.from({ length: n * 3 }, () => r() * 2 - 1), 3),
    valence: Float32Array.from({ length: n }, () => r() - 0.5), arousal: new Float32Array(n).fill(NaN), expression: Int8Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 4 : 0)), au,
  };
}

describe('the learning-rate schedule', () => {
  it('decays linearly to 0 over the steps the shuffled batches actually take: the last step runs at lr / steps', async () => {
    // lengths chosen so that how videos fall into batches changes the number of segments per epoch
    const seqs = [5, 31, 12, 25, 8, 19, 3].map((n, i) => sequence(n, i + 1));
    const config = TrainConfigSchema.parse({
      model: { tasks: ['valence'], encoder: { type: 'gru', layers: 1, hidden: 4 }, heads: { hidden: [] }, segmentLength: 10 },
      batchSize: 2, epochs: 4, learningRate: 0.01, beta1: 0.9,
    });
    const rates: number[] = [];
    const perEpoch = new Map<number, number>();
    const onProgress = (p: Progress) => {
      if (p.last?.epoch === p.epoch) return; // the end-of-epoch report, not a step
      rates.push(p.learningRate);
      perEpoch.set(p.epoch, p.steps);
    };
    const r = await trainModel({ outDir: freshDir('run'), train: seqs, val: seqs.slice(0, 2), dim: 3, config, temporal: temporalConfig(config, 3), onProgress });
    const total = rates.length;
    // the shuffles give different step counts per epoch; each epoch announced what it then ran
    expect(new Set(perEpoch.values()).size).toBeGreaterThan(1);
    expect([...perEpoch.values()].reduce((a, b) => a + b, 0)).toBe(total);
    rates.forEach((rate, k) => expect(rate).toBeCloseTo(0.01 * (1 - k / total), 10));
    expect(rates[total - 1]).toBeCloseTo(0.01 / total, 10);
    expect(r.history[r.history.length - 1].learningRate).toBeCloseTo(0.01 / total, 10);
  });
});

describe('loss balance', () => {
  it('weights AU positives by negatives ÷ positives and expression classes by inverse frequency', () => {
    const seqs = [sequence(40, 1), sequence(60, 2)];
    const b = lossBalance(seqs, { auPositiveWeight: 'prevalence', expressionClassWeight: 'balanced' });
    const labels = seqs.flatMap((s) => Array.from({ length: s.frames.length }, (_, i) => s.au[i * AUS.length]));
    const pos = labels.filter((x) => x === 1).length;
    expect(b.auPositive?.[0]).toBeCloseTo((labels.length - pos) / pos, 5);
    expect(b.auPositive?.[1]).toBe(1); // never labelled: unweighted
    // 20 of 100 frames are class 4, 80 class 0: weights 100 / (2 × count)
    expect(b.expression?.[4]).toBeCloseTo(100 / 40, 5);
    expect(b.expression?.[0]).toBeCloseTo(100 / 160, 5);
    expect(lossBalance(seqs, { auPositiveWeight: 'none', expressionClassWeight: 'none' })).toEqual({});
  });

  it('the weighted BCE is −[p·y·log σ(x) + (1 − y)·log(1 − σ(x))] and the weighted CE a weighted mean', () => {
    const x = [2.5, -1, 0.3, -4];
    const y = [1, 0, 1, 0];
    const p = 3;
    const seg = {
      x: tf.zeros([1, 4, 1]), mask: tf.ones([1, 4]), v: tf.zeros([1, 4]), vm: tf.zeros([1, 4]), a: tf.zeros([1, 4]), am: tf.zeros([1, 4]),
      e: tf.tensor2d([[0, 4, 4, 1]], [1, 4], 'int32'), em: tf.tensor2d([[1, 1, 1, 0]]),
      au: tf.tensor3d(y.flatMap((v) => [v, ...new Array(11).fill(0)]), [1, 4, 12]),
      aum: tf.tensor3d(y.flatMap(() => [1, ...new Array(11).fill(0)]), [1, 4, 12]),
    } as unknown as Parameters<typeof segmentLoss>[1];
    const auLogits = tf.tensor3d(x.flatMap((v) => [v, ...new Array(11).fill(0)]), [1, 4, 12]);
    const exprLogits = tf.tensor3d([[[1, 0, 0, 0, 2, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0, 0], [3, 0, 0, 0, 0, 0, 0, 0], [0, 5, 0, 0, 0, 0, 0, 0]]]);
    const weights = { valence: 0, arousal: 0, expression: 1, au: 1 };
    const auPositive = new Float32Array(12).fill(1);
    auPositive[0] = p;
    const classWeights = Float32Array.from({ length: 8 }, (_, c) => (c === 4 ? 2 : 0.5));
    const { parts } = segmentLoss({ au: auLogits, expression: exprLogits }, seg, weights, { auPositive, expression: classWeights });
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    const bce = x.map((v, i) => -(p * y[i] * Math.log(sigmoid(v)) + (1 - y[i]) * Math.log(1 - sigmoid(v))));
    expect(parts.au.dataSync()[0]).toBeCloseTo(bce.reduce((a, b) => a + b, 0) / 4, 5);
    const logits = exprLogits.arraySync()[0];
    const ce = [0, 4, 4].map((c, t) => Math.log(logits[t].reduce((a, v) => a + Math.exp(v), 0)) - logits[t][c]);
    const w = [0.5, 2, 2];
    expect(parts.expression.dataSync()[0]).toBeCloseTo(ce.reduce((a, v, i) => a + v * w[i], 0) / (0.5 + 2 + 2), 5);
  });
});
