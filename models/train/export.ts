/**
 * A finished training run → a model bundle `predict` runs. Smoothing windows and per-AU
 * thresholds are tuned on the validation set; the ONNX graph is then checked against the trainer
 * on held-out inputs, and a bundle that disagrees (max abs diff > 1e-4) is not written.
 */
import { rmSync } from 'node:fs';
import ort from 'onnxruntime-node';
import path from 'node:path';
import type { Task } from '../../common/labels.js';
import { ccc } from '../../common/metrics.js';
import { writeTemporalBundle } from '../bundle/write.js';
import { MANIFEST_NAME } from '../bundle/manifest.js';
import { stateSpecs } from '../temporal/config.js';
import { smooth } from '../temporal/smoothing.js';
import { toolVersion } from '../../common/node/version.js';
import type { TrainConfig } from './config.js';
import type { TrainSequence } from './dataset.js';
import { TrainableModel } from './network.js';
import { tf, tfReady } from './tf.js';
import type { TrainResult } from './trainer.js';
import { normalise } from './normalisation.js';
import { evaluatePredictions, predictSequences } from './validation.js';

export const SMOOTHING_CANDIDATES = [0, 2, 5, 10, 15, 25, 50];
export const EXPORT_TOLERANCE = 1e-4;

/** The half-window (frames) that maximises validation CCC of one dimension. */
function tuneSmoothing(seqs: TrainSequence[], preds: { v: Float32Array; a: Float32Array }[], key: 'v' | 'a'): { window: number; ccc: number } {
  let best = { window: 0, ccc: -Infinity };
  for (const w of SMOOTHING_CANDIDATES) {
    const p: number[] = [], l: number[] = [];
    seqs.forEach((s, i) => {
      const sm = smooth(preds[i][key], w);
      const labels = key === 'v' ? s.valence : s.arousal;
      labels.forEach((y, r) => {
        if (!Number.isNaN(y)) p.push(sm[r]), l.push(y);
      });
    });
    const c = p.length ? ccc(p, l) : -Infinity;
    if (c > best.ccc + 1e-9) best = { window: w, ccc: c };
  }
  return Number.isFinite(best.ccc) ? best : { window: 0, ccc: NaN };
}

export interface ExportOptions {
  dir: string;
  id: string;
  version: string;
  description: string;
  train: TrainConfig;
  preset?: string;
  dataDescription: string;
  extractors: { id: string; version: string; dim: number }[];
  /** Validation sequences with raw (unnormalised) features. */
  val: TrainSequence[];
  dim: number;
}

export interface ExportReport {
  dir: string;
  maxAbsDiff: number;
  smoothing: { valence: number; arousal: number };
  auThresholds: number[];
  validation: Record<string, number>;
}

export async function exportBundle(result: TrainResult, o: ExportOptions): Promise<ExportReport> {
  await tfReady();
  const config = result.config;
  const model = new TrainableModel(config, result.best);
  const valN = normalise(o.val, o.dim, o.train.normalization, result.normalisation);
  const preds = predictSequences(model, valN, o.dim);
  const sv = tuneSmoothing(o.val, preds, 'v');
  const sa = tuneSmoothing(o.val, preds, 'a');
  // scored as `predict` will output it (smoothed) and as `eval` scores it: the same evaluator, AUs at 0.5;
  // the AU thresholds the bundle ships are the ones the evaluator tunes on these labels
  const metrics = evaluatePredictions(o.val, preds.map((p) => ({ ...p, v: smooth(p.v, sv.window), a: smooth(p.a, sa.window) })));
  const thresholds = metrics.tunedThresholds;
  const best = result.history.find((h) => h.epoch === result.bestEpoch);
  const all: Record<string, number> = {
    CCC_V: metrics.cccValence, CCC_A: metrics.cccArousal, F1_expression: metrics.f1Expression, F1_AU: metrics.f1Au, P_MTL: metrics.pMtl,
    F1_AU_tuned: metrics.f1AuTuned, P_MTL_tuned_AU: metrics.pMtlTunedAu, best_epoch: result.bestEpoch,
    ...Object.fromEntries(Object.entries(result.bestPerTask).map(([t, b]) => [`best_epoch_${t as Task}`, b.epoch])),
  };
  // tasks without validation labels have no score (JSON has no −∞)
  const validation = Object.fromEntries(Object.entries(all).filter(([, v]) => Number.isFinite(v)));
  const normalization = o.train.normalization === 'train' && result.normalisation
    ? { type: 'in-graph' as const, mean: result.normalisation.mean, std: result.normalisation.std }
    : o.train.normalization === 'per-sequence' ? { type: 'per-sequence' as const } : { type: 'none' as const };
  writeTemporalBundle(o.dir, {
    id: o.id, version: o.version, description: o.description, config, weights: result.best, extractors: o.extractors, normalization,
    smoothing: { valence: sv.window, arousal: sa.window }, auThresholds: thresholds,
    provenance: {
      summary: `${o.description}. Trained by affect-studio ${toolVersion()} for ${result.history.length} epochs (best by validation P_MTL: epoch ${result.bestEpoch}${best ? `, ${best.pMtl.toFixed(3)}` : ''}).`,
      trainedOn: o.dataDescription,
      created: new Date().toISOString(),
      tool: `affect-studio ${toolVersion()}`,
      preset: o.preset,
      seed: o.train.seed,
      epochs: result.history.length,
      validation,
    },
  });

  // the exported graph must compute what the trainer computes, on inputs it never trained on
  let maxAbsDiff = 0;
  try {
    const session = await ort.InferenceSession.create(path.join(o.dir, 'model.onnx'), { executionProviders: ['cpu'] });
    for (const [i, s] of o.val.slice(0, 2).entries()) {
      const T = Math.min(config.segmentLength, s.frames.length);
      const raw = s.features.subarray(0, T * o.dim);
      const ours = valN[i].features.subarray(0, T * o.dim);
      const onnxInput = normalization.type === 'in-graph' ? raw : ours;
      const feeds: Record<string, ort.Tensor> = { features: new ort.Tensor('float32', Float32Array.from(onnxInput), [1, T, o.dim]) };
      for (const st of stateSpecs(config)) {
        const dims = st.dims.map((d) => (d === 'batch' ? 1 : d));
        feeds[`state_in.${st.name}`] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
      }
      const got = await session.run(feeds);
      const want = tf.tidy(() => {
        const { outputs } = model.forward(tf.tensor3d(Float32Array.from(ours), [1, T, o.dim]), model.zeroState(1), { training: false });
        return Object.fromEntries(config.tasks.map((t) => [t, (outputs[t] as tf.Tensor).dataSync() as Float32Array]));
      });
      for (const t of config.tasks) {
        const a = got[t].data as Float32Array;
        const b = want[t] as unknown as Float32Array;
        for (let k = 0; k < b.length; k++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[k] - b[k]));
      }
    }
  } finally {
    model.dispose();
  }
  if (!(maxAbsDiff <= EXPORT_TOLERANCE)) {
    rmSync(path.join(o.dir, MANIFEST_NAME), { force: true });
    rmSync(path.join(o.dir, 'model.onnx'), { force: true });
    throw new Error(`export check failed: the ONNX bundle and the trainer differ by ${maxAbsDiff.toExponential(2)} (> ${EXPORT_TOLERANCE}) on held-out inputs; no bundle written`);
  }
  return { dir: o.dir, maxAbsDiff, smoothing: { valence: sv.window, arousal: sa.window }, auThresholds: thresholds, validation };
}
