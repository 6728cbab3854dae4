/**
 * A finished training run → a model bundle `predict` runs. Smoothing windows and per-AU
 * thresholds are tuned on the validation set; each ONNX graph is then checked against the trainer
 * on held-out inputs, and a bundle that disagrees (max abs diff > 1e-4) is not written.
 *
 * Which weights: "overall" (default) — the epoch with the best validation P_MTL; "per-task" — each
 * task from the epoch where its own validation score was best, as the ABAW4 team chose. The heads
 * share an encoder whose weights differ between epochs, so a head cannot be lifted out of its epoch
 * on its own: per-task writes an ensemble bundle whose members are those epochs' whole models, each
 * member answering only for its tasks (one member per distinct epoch).
 */
import { mkdirSync, rmSync } from 'node:fs';
import ort from 'onnxruntime-node';
import path from 'node:path';
import { TASKS, type Task } from '../../common/labels.js';
import { ccc } from '../../common/metrics.js';
import { writeFileAtomic } from '../../common/node/storage.js';
import { writeTemporalBundle } from '../bundle/write.js';
import { BUNDLE_FORMAT, loadAnyBundle, MANIFEST_NAME, type BundleManifest } from '../bundle/manifest.js';
import { stateSpecs } from '../temporal/config.js';
import type { Weights } from '../temporal/params.js';
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

export const SELECTIONS = ['overall', 'per-task'] as const;
export type Selection = (typeof SELECTIONS)[number];

type Predictions = ReturnType<typeof predictSequences>;

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
  /** "overall" (default) or "per-task"; per-task needs `perTaskWeights`. */
  selection?: Selection;
  /** Each task's best weights (tasks that never scored on validation are absent: they take the overall best). */
  perTaskWeights?: Partial<Record<Task, Weights>>;
}

export interface ExportReport {
  dir: string;
  selection: Selection;
  maxAbsDiff: number;
  smoothing: { valence: number; arousal: number };
  auThresholds: number[];
  validation: Record<string, number>;
  /** Per-task selection: the members, by the epoch their weights come from. */
  members?: { tasks: Task[]; epoch: number; path: string }[];
}

/** What one exported model predicts on validation (smoothed as `predict` smooths it) and how it was post-processed. */
interface ModelExport {
  preds: Predictions;
  smoothing: { valence: number; arousal: number };
  maxAbsDiff: number;
}

/** Runs weights over the validation set and tunes their smoothing; the predictions come back smoothed. */
function validate(result: TrainResult, weights: Weights, o: ExportOptions): { model: TrainableModel; valN: TrainSequence[]; preds: Predictions; smoothing: ModelExport['smoothing'] } {
  const model = new TrainableModel(result.config, weights);
  const valN = normalise(o.val, o.dim, o.train.normalization, result.normalisation);
  const raw = predictSequences(model, valN, o.dim);
  const sv = tuneSmoothing(o.val, raw, 'v');
  const sa = tuneSmoothing(o.val, raw, 'a');
  const preds = raw.map((p) => ({ ...p, v: smooth(p.v, sv.window), a: smooth(p.a, sa.window) }));
  return { model, valN, preds, smoothing: { valence: sv.window, arousal: sa.window } };
}

const graphNormalisation = (result: TrainResult, o: ExportOptions) =>
  o.train.normalization === 'train' && result.normalisation
    ? { type: 'in-graph' as const, mean: result.normalisation.mean, std: result.normalisation.std }
    : o.train.normalization === 'per-sequence' ? { type: 'per-sequence' as const } : { type: 'none' as const };

/** The validation figures a manifest records (tasks without validation labels have no score: JSON has no −∞). */
function validationRecord(preds: Predictions, result: TrainResult, o: ExportOptions): { validation: Record<string, number>; thresholds: number[] } {
  // scored as `predict` will output it (smoothed) and as `eval` scores it: the same evaluator, AUs at 0.5;
  // the AU thresholds the bundle ships are the ones the evaluator tunes on these labels
  const metrics = evaluatePredictions(o.val, preds);
  const all: Record<string, number> = {
    CCC_V: metrics.cccValence, CCC_A: metrics.cccArousal, F1_expression: metrics.f1Expression, F1_AU: metrics.f1Au, P_MTL: metrics.pMtl,
    F1_AU_tuned: metrics.f1AuTuned, P_MTL_tuned_AU: metrics.pMtlTunedAu, best_epoch: result.bestEpoch,
    ...Object.fromEntries(Object.entries(result.bestPerTask).map(([t, b]) => [`best_epoch_${t as Task}`, b.epoch])),
  };
  return { validation: Object.fromEntries(Object.entries(all).filter(([, v]) => Number.isFinite(v))), thresholds: metrics.tunedThresholds };
}

/**
 * Writes one temporal bundle of `weights` answering for `tasks`, after checking that its graph
 * computes what the trainer computes on inputs it never trained on; returns what it predicts.
 */
async function writeModel(result: TrainResult, weights: Weights, tasks: Task[], dir: string, o: ExportOptions, meta: { thresholds?: number[]; provenance: (v: ReturnType<typeof validate>) => BundleManifest['provenance'] }): Promise<ModelExport> {
  const config = result.config;
  const v = validate(result, weights, o);
  const normalization = graphNormalisation(result, o);
  const thresholds = meta.thresholds ?? validationRecord(v.preds, result, o).thresholds;
  try {
    writeTemporalBundle(dir, {
      id: o.id, version: o.version, description: o.description, config, tasks, weights, extractors: o.extractors, normalization,
      smoothing: v.smoothing, auThresholds: thresholds, provenance: meta.provenance(v),
    });
    let maxAbsDiff = 0;
    const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), { executionProviders: ['cpu'] });
    for (const [i, s] of o.val.slice(0, 2).entries()) {
      const T = Math.min(config.segmentLength, s.frames.length);
      const ours = v.valN[i].features.read(0, T);
      const onnxInput = normalization.type === 'in-graph' ? s.features.read(0, T) : ours;
      const feeds: Record<string, ort.Tensor> = { features: new ort.Tensor('float32', onnxInput, [1, T, o.dim]) };
      for (const st of stateSpecs(config)) {
        const dims = st.dims.map((d) => (d === 'batch' ? 1 : d));
        feeds[`state_in.${st.name}`] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
      }
      const got = await session.run(feeds);
      const want = tf.tidy(() => {
        const { outputs } = v.model.forward(tf.tensor3d(ours, [1, T, o.dim]), v.model.zeroState(1), { training: false });
        return Object.fromEntries(config.tasks.map((t) => [t, (outputs[t] as tf.Tensor).dataSync() as Float32Array]));
      });
      for (const t of config.tasks) {
        const a = got[t].data as Float32Array;
        const b = want[t] as unknown as Float32Array;
        for (let k = 0; k < b.length; k++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[k] - b[k]));
      }
    }
    if (!(maxAbsDiff <= EXPORT_TOLERANCE)) {
      rmSync(path.join(dir, MANIFEST_NAME), { force: true });
      rmSync(path.join(dir, 'model.onnx'), { force: true });
      throw new Error(`export check failed: the ONNX bundle and the trainer differ by ${maxAbsDiff.toExponential(2)} (> ${EXPORT_TOLERANCE}) on held-out inputs; no bundle written`);
    }
    return { preds: v.preds, smoothing: v.smoothing, maxAbsDiff };
  } finally {
    v.model.dispose();
  }
}

const provenance = (result: TrainResult, o: ExportOptions, summary: string, validation: Record<string, number>, selection: Selection): BundleManifest['provenance'] => ({
  summary: `${o.description}. Trained by affect-studio ${toolVersion()} for ${result.history.length} epochs (${summary}).`,
  trainedOn: o.dataDescription,
  created: new Date().toISOString(),
  tool: `affect-studio ${toolVersion()}`,
  preset: o.preset,
  seed: o.train.seed,
  epochs: result.history.length,
  selection,
  validation,
});

export async function exportBundle(result: TrainResult, o: ExportOptions): Promise<ExportReport> {
  await tfReady();
  // a finished run can be exported again with the other selection: nothing of the last export stays
  rmSync(o.dir, { recursive: true, force: true });
  return (o.selection ?? 'overall') === 'overall' ? exportOverall(result, o) : exportPerTask(result, o);
}

async function exportOverall(result: TrainResult, o: ExportOptions): Promise<ExportReport> {
  const best = result.history.find((h) => h.epoch === result.bestEpoch);
  let record: ReturnType<typeof validationRecord> | undefined;
  const m = await writeModel(result, result.best, result.config.tasks, o.dir, o, {
    provenance: (v) => {
      record = validationRecord(v.preds, result, o);
      return provenance(result, o, `best by validation P_MTL: epoch ${result.bestEpoch}${best ? `, ${best.pMtl.toFixed(3)}` : ''}`, record.validation, 'overall');
    },
  });
  const r = record as NonNullable<typeof record>;
  return { dir: o.dir, selection: 'overall', maxAbsDiff: m.maxAbsDiff, smoothing: m.smoothing, auThresholds: r.thresholds, validation: r.validation };
}

async function exportPerTask(result: TrainResult, o: ExportOptions): Promise<ExportReport> {
  const tasks = result.config.tasks;
  // tasks that never scored on validation have no best epoch of their own: they go with the overall best
  const epochOf = (t: Task) => (o.perTaskWeights?.[t] && result.bestPerTask[t].epoch > 0 ? result.bestPerTask[t].epoch : result.bestEpoch);
  const groups = new Map<number, Task[]>();
  for (const t of tasks) groups.set(epochOf(t), [...(groups.get(epochOf(t)) ?? []), t]);
  // a group away from the overall best epoch holds a task with its own best weights (those of that epoch)
  const weightsOf = (group: Task[]): Weights => group.map((t) => o.perTaskWeights?.[t]).find((w) => w !== undefined) ?? result.best;

  mkdirSync(o.dir, { recursive: true });
  const members: NonNullable<ExportReport['members']> = [];
  const exports: { tasks: Task[]; m: ModelExport }[] = [];
  for (const [epoch, group] of [...groups].sort(([a], [b]) => a - b)) {
    const rel = path.join('members', `e${epoch}-${group.join('-')}`);
    const m = await writeModel(result, weightsOf(group), group, path.join(o.dir, rel), o, {
      provenance: (v) => provenance(result, o, `the weights of epoch ${epoch}, the best validation epoch for ${group.join(', ')}`, validationRecord(v.preds, result, o).validation, 'per-task'),
    });
    members.push({ tasks: group, epoch, path: rel });
    exports.push({ tasks: group, m });
  }
  // the ensemble's predictions: each task from its member (as predict combines them)
  const from = (t: Task) => exports.find((x) => x.tasks.includes(t))?.m.preds;
  const preds: Predictions = o.val.map((s, i) => {
    const n = s.frames.length;
    return {
      v: from('valence')?.[i].v ?? new Float32Array(n), a: from('arousal')?.[i].a ?? new Float32Array(n),
      e: from('expression')?.[i].e ?? new Float32Array(n * 8), au: from('au')?.[i].au ?? new Float32Array(n * 12),
    };
  });
  const record = validationRecord(preds, result, o);
  const first = loadAnyBundle(path.join(o.dir, members[0].path)).manifest;
  const smoothingOf = (t: 'valence' | 'arousal') => exports.find((x) => x.tasks.includes(t))?.m.smoothing[t] ?? 0;
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    id: o.id,
    version: o.version,
    description: `${o.description} (per-task best epochs)`,
    kind: 'ensemble',
    labels: first.labels,
    tasks: TASKS.filter((t) => tasks.includes(t)),
    features: first.features,
    members: members.map((m) => ({ path: m.path, weight: 1 })),
    // members smooth their own predictions; the thresholds are tuned on the combined predictions
    postprocess: { smoothing: { valence: 0, arousal: 0 }, auThresholds: record.thresholds },
    provenance: provenance(result, o, `each task from its best validation epoch: ${members.map((m) => `${m.tasks.join(', ')} @${m.epoch}`).join('; ')}`, record.validation, 'per-task'),
  };
  writeFileAtomic(path.join(o.dir, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`);
  loadAnyBundle(o.dir); // what was written must load
  return {
    dir: o.dir, selection: 'per-task', maxAbsDiff: Math.max(...exports.map((x) => x.m.maxAbsDiff)),
    smoothing: { valence: smoothingOf('valence'), arousal: smoothingOf('arousal') }, auThresholds: record.thresholds, validation: record.validation, members,
  };
}
