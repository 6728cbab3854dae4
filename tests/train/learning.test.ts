import { beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticSet } from '../helpers/synthetic.js';
import { freshDir } from '../helpers/fixtures.js';
import { loadPrecomputed, type TrainSet, type TrainSequence } from '../../models/train/dataset.js';
import { findPreset, TrainConfigSchema, temporalConfig, type TrainConfig } from '../../models/train/config.js';
import { trainModel } from '../../models/train/trainer.js';
import { normalise } from '../../models/train/normalisation.js';
import { evaluatePredictions, predictSequences, type ValMetrics } from '../../models/train/validation.js';
import { TrainableModel } from '../../models/train/network.js';
import { tfReady } from '../../models/train/tf.js';

let train: TrainSet;
let val: TrainSet;

beforeAll(async () => {
  await tfReady();
  const set = writeSyntheticSet(freshDir('synthetic'));
  train = loadPrecomputed(set.train, [set.features]);
  val = loadPrecomputed(set.val, [set.features]);
});

async function fit(config: TrainConfig): Promise<{ metrics: ValMetrics; model: TrainableModel; valN: TrainSequence[] }> {
  const temporal = temporalConfig(config, train.dim);
  const r = await trainModel({ outDir: freshDir('run'), train: train.sequences, val: val.sequences, dim: train.dim, config, temporal });
  const valN = normalise(val.sequences, train.dim, config.normalization, r.normalisation);
  const model = new TrainableModel(temporal, r.best);
  return { metrics: evaluatePredictions(val.sequences, predictSequences(model, valN, train.dim)), model, valN };
}

/** Predicts the training set's means and most frequent class, at every frame. */
function constantPredictor(): ValMetrics {
  const all = train.sequences;
  const mean = (k: 'valence' | 'arousal') => {
    const v = all.flatMap((s) => Array.from(s[k]).filter((x) => !Number.isNaN(x)));
    return v.reduce((a, b) => a + b, 0) / v.length;
  };
  const counts = new Array(8).fill(0);
  for (const s of all) for (const e of s.expression) if (e >= 0) counts[e]++;
  const prevalence = Array.from({ length: 12 }, (_, j) => {
    const v = all.flatMap((s) => s.frames.map((_, r) => s.au[r * 12 + j])).filter((x) => x >= 0);
    return v.reduce((a, b) => a + b, 0) / v.length;
  });
  const e = new Float32Array(8);
  e[counts.indexOf(Math.max(...counts))] = 1;
  return evaluatePredictions(val.sequences, val.sequences.map((s) => ({
    v: new Float32Array(s.frames.length).fill(mean('valence')),
    a: new Float32Array(s.frames.length).fill(mean('arousal')),
    e: Float32Array.from({ length: s.frames.length * 8 }, (_, i) => e[i % 8]),
    au: Float32Array.from({ length: s.frames.length * 12 }, (_, i) => prevalence[i % 12]),
  })));
}

/** A laptop preset, trained for a few epochs on small batches (the synthetic set has only 24 videos). */
const laptop = (name: string, epochs: number): TrainConfig => ({ ...findPreset(name).config, epochs, batchSize: 2 });

describe('training learns what needs temporal context (synthetic ABAW-layout data)', () => {
  let perFrame: ValMetrics;
  let constant: ValMetrics;

  beforeAll(async () => {
    constant = constantPredictor();
    // the same transformer, but each frame is its own segment: no temporal context at all
    const base = laptop('laptop-transformer', 4);
    perFrame = (await fit({ ...base, batchSize: 24, model: { ...base.model, segmentLength: 1 } })).metrics;
    console.log(`constant P_MTL ${constant.pMtl.toFixed(3)}, per-frame P_MTL ${perFrame.pMtl.toFixed(3)} (V ${perFrame.cccValence.toFixed(3)} A ${perFrame.cccArousal.toFixed(3)} AU ${perFrame.f1Au.toFixed(3)})`);
  });

  for (const [preset, epochs] of [['laptop-gru', 6], ['laptop-transformer', 30]] as const) {
    it(`${preset} beats the per-frame baseline and a constant predictor by a clear margin`, async () => {
      const { metrics } = await fit(laptop(preset, epochs));
      console.log(`${preset} P_MTL ${metrics.pMtl.toFixed(3)} (V ${metrics.cccValence.toFixed(3)} A ${metrics.cccArousal.toFixed(3)} E ${metrics.f1Expression.toFixed(3)} AU ${metrics.f1Au.toFixed(3)})`);
      expect(metrics.pMtl).toBeGreaterThan(constant.pMtl + 0.5);
      expect(metrics.pMtl).toBeGreaterThan(perFrame.pMtl + 0.1);
      // arousal is valence 10 frames earlier: only a model that sees other frames can get it
      expect(metrics.cccArousal).toBeGreaterThan(perFrame.cccArousal + 0.15);
    });
  }

  it('the feedback framework uses its source: removing the AU → expression input lowers the expression score', async () => {
    const config = TrainConfigSchema.parse({
      model: { tasks: ['au', 'expression'], encoder: { type: 'gru', layers: 1, hidden: 32 }, framework: { type: 'feedback', taskLayers: 1, embedDim: 16, links: [{ from: ['au'], to: 'expression' }] }, heads: { hidden: [32] } },
      epochs: 10, learningRate: 3e-3, beta1: 0.9, lossWeights: { valence: 0, arousal: 0, expression: 1, au: 1 },
    });
    const { metrics, model, valN } = await fit(config);
    const weights = model.weights();
    weights.set('fb.expression.au.E', new Float32Array((weights.get('fb.expression.au.E') as Float32Array).length));
    model.setWeights(weights);
    const ablated = evaluatePredictions(val.sequences, predictSequences(model, valN, train.dim));
    console.log(`feedback: expression F1 ${metrics.f1Expression.toFixed(3)}, without its AU input ${ablated.f1Expression.toFixed(3)}`);
    expect(metrics.f1Expression).toBeGreaterThan(constant.f1Expression + 0.05);
    expect(ablated.f1Expression).toBeLessThan(metrics.f1Expression - 0.01);
  });
});
