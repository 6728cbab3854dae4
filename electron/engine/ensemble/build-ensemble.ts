/**
 * Ensemble selection on validation data (Caruana et al., 2004): start from nothing and repeatedly add
 * (with replacement) the candidate bundle whose addition most raises the ensemble's P_MTL; the
 * number of times a bundle was picked is its weight. Then per-AU thresholds are tuned for the
 * ensemble, and the members are copied into an ensemble bundle.
 */
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { readMtlFile, type LabelSet } from '../../../models/data/abaw-labels.js';
import { BUNDLE_FORMAT, MANIFEST_NAME, loadAnyBundle, type BundleManifest } from '../../../models/bundle/manifest.js';
import { AUS, EXPRESSIONS, TASKS } from '../../../common/labels.js';
import { tuneThreshold } from '../../../common/metrics.js';
import { writeFileAtomic } from '../../../common/node/storage.js';
import { toolVersion } from '../../../common/node/version.js';
import { UserError } from '../../../common/errors.js';
import { evaluate, type EvalReport, type PredictionSet } from '../eval/evaluate.js';
import { DEFAULT_FEATURES_FPS, featureFiles, precomputedRows } from '../predict/predict-features.js';
import { DEFAULT_MAX_GAP_SECONDS, precomputedBlocks, Predictor } from '../predict/predictor.js';
import { readNpyHeader } from '../../../models/data/npy.js';
import { maxGapFrames } from '../../../models/temporal/sequences.js';

export interface EnsembleResult {
  members: { dir: string; id: string; weight: number; pMtl: number }[];
  report: EvalReport;
  auThresholds: number[];
  out: string;
}

/** Every candidate's predictions for the labelled validation frames (its own smoothing applied). */
async function candidatePredictions(dir: string, files: string[], labels: LabelSet): Promise<PredictionSet> {
  const predictor = await Predictor.create({ provider: 'cpu', bundleDirs: [dir], maxGapSeconds: DEFAULT_MAX_GAP_SECONDS });
  const set: PredictionSet = new Map();
  for (const file of files) {
    const video = path.basename(file, '.npy');
    if (!labels.has(video)) continue;
    const h = readNpyHeader(file);
    if (h.cols !== predictor.runners[0].dim) throw new UserError(`has ${h.cols} features per frame, bundle ${path.basename(dir)} reads ${predictor.runners[0].dim}`, 'use the features the bundles were trained on', file);
    const rows = [...precomputedRows(file, h, DEFAULT_FEATURES_FPS)];
    const preds = await predictor.predictTable(rows, precomputedBlocks(predictor.runners[0].bundle, file, h), maxGapFrames(predictor.options.maxGapSeconds, DEFAULT_FEATURES_FPS));
    const frames = new Map<number, { valence?: number; arousal?: number; expression?: Float32Array; au?: Float32Array }>();
    for (const p of preds) if (p.faceId !== undefined) frames.set(p.frame, { valence: p.valence, arousal: p.arousal, expression: p.expression, au: p.au });
    set.set(video, frames);
  }
  return set;
}

/** The weighted mean of several prediction sets. */
function combine(sets: PredictionSet[], weights: number[]): PredictionSet {
  const out: PredictionSet = new Map();
  const total = weights.reduce((a, b) => a + b, 0);
  for (const [video, frames] of sets[0]) {
    const merged = new Map<number, { valence?: number; arousal?: number; expression?: Float32Array; au?: Float32Array }>();
    for (const frame of frames.keys()) {
      const parts = sets.map((s) => s.get(video)?.get(frame));
      if (parts.some((p) => !p)) continue;
      const mean = (get: (p: NonNullable<(typeof parts)[number]>) => number | undefined) => parts.reduce((a, p, i) => a + (get(p as never) ?? 0) * weights[i], 0) / total;
      const vec = (len: number, get: (p: NonNullable<(typeof parts)[number]>) => Float32Array | undefined) =>
        Float32Array.from({ length: len }, (_, k) => parts.reduce((a, p, i) => a + ((get(p as never)?.[k]) ?? 0) * weights[i], 0) / total);
      merged.set(frame, { valence: mean((p) => p.valence), arousal: mean((p) => p.arousal), expression: vec(EXPRESSIONS.length, (p) => p.expression), au: vec(AUS.length, (p) => p.au) });
    }
    out.set(video, merged);
  }
  return out;
}

export async function buildEnsemble(candidates: string[], o: { valLabels: string; features: string; out: string; rounds?: number; id?: string }): Promise<EnsembleResult> {
  if (candidates.length < 2) throw new UserError('an ensemble needs at least two bundles', 'list the candidate bundles');
  const labels = readMtlFile(o.valLabels);
  const files = featureFiles(o.features);
  // every validation video needs its features: choosing members on a part of them would pass unnoticed
  const have = new Set(files.map((f) => path.basename(f, '.npy')));
  const lacking = [...labels.keys()].filter((v) => !have.has(v));
  if (lacking.length) {
    throw new UserError(`${lacking.length === labels.size ? 'none' : `${lacking.length}`} of the ${labels.size} validation videos ${lacking.length === 1 ? 'has' : 'have'} a features file here (first missing: ${lacking[0]}.npy)`,
      'give --features the folder holding <video>.npy for every video of --val', path.dirname(files[0]));
  }
  const bundles = candidates.map((c) => loadAnyBundle(c));
  for (const b of bundles) if ('members' in b) throw new UserError('is already an ensemble; give its members instead', undefined, b.dir);
  const preds: PredictionSet[] = [];
  for (const c of candidates) preds.push(await candidatePredictions(c, files, labels));
  const single = preds.map((p) => evaluate(labels, p).pMtl);
  const counts = candidates.map(() => 0);
  let best = -Infinity;
  for (let round = 0; round < (o.rounds ?? 10); round++) {
    let pick = -1;
    let pickScore = best;
    candidates.forEach((_, i) => {
      const trial = counts.map((c, k) => c + (k === i ? 1 : 0));
      const used = trial.map((w, k) => [w, k] as const).filter(([w]) => w > 0);
      const score = evaluate(labels, combine(used.map(([, k]) => preds[k]), used.map(([w]) => w))).pMtl;
      if (score > pickScore + 1e-9) (pickScore = score), (pick = i);
    });
    if (pick < 0) break;
    counts[pick]++;
    best = pickScore;
  }
  const chosen = counts.map((w, k) => [w, k] as const).filter(([w]) => w > 0);
  if (!chosen.length) throw new UserError('no candidate could be scored on the validation labels', 'check that the labels and the features belong to the same videos', o.valLabels);
  const ensemblePreds = combine(chosen.map(([, k]) => preds[k]), chosen.map(([w]) => w));
  // per-AU thresholds for the ensemble's averaged probabilities
  const auThresholds = AUS.map((_, j) => {
    const p: number[] = [], l: number[] = [];
    for (const [video, frames] of labels) for (const [frame, lab] of frames) {
      const q = ensemblePreds.get(video)?.get(frame);
      if (q?.au && lab.au && lab.au[j] >= 0) p.push(q.au[j]), l.push(lab.au[j]);
    }
    return p.length ? tuneThreshold(p, l).threshold : 0.5;
  });
  const report = evaluate(labels, ensemblePreds);

  rmSync(o.out, { recursive: true, force: true });
  mkdirSync(path.join(o.out, 'members'), { recursive: true });
  const members = chosen.map(([w, k]) => {
    const b = bundles[k];
    const rel = path.join('members', `${k}-${b.manifest.id}`);
    cpSync(b.dir, path.join(o.out, rel), { recursive: true });
    return { path: rel, weight: w, id: b.manifest.id, dir: b.dir, pMtl: single[k] };
  });
  const first = bundles[chosen[0][1]].manifest;
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    id: o.id ?? `ensemble-${members.map((m) => m.id).join('-')}`.slice(0, 80),
    version: '1.0.0',
    description: `Ensemble of ${members.map((m) => `${m.id} ×${m.weight}`).join(', ')}`,
    kind: 'ensemble',
    labels: first.labels,
    tasks: TASKS.filter((t) => chosen.some(([, k]) => bundles[k].manifest.tasks.includes(t))),
    features: first.features,
    members: members.map((m) => ({ path: m.path, weight: m.weight })),
    postprocess: { smoothing: { valence: 0, arousal: 0 }, auThresholds },
    provenance: {
      summary: `Members chosen greedily (with replacement) to maximise validation P_MTL over ${candidates.length} candidates; weights = times chosen. Members smooth their own predictions; AU thresholds tuned for the ensemble.`,
      trainedOn: members.map((m) => `${m.id}: ${loadAnyBundle(path.join(o.out, m.path)).manifest.provenance.trainedOn}`).join('; '),
      created: new Date().toISOString(),
      tool: `affect-studio ${toolVersion()}`,
      // metrics of tasks without validation labels are not numbers: left out, not written as null
      validation: Object.fromEntries(Object.entries({ CCC_V: report.cccValence, CCC_A: report.cccArousal, F1_expression: report.f1Expression, F1_AU: report.f1Au, P_MTL: report.pMtl, P_MTL_tuned_AU: report.pMtlTunedAu }).filter(([, v]) => Number.isFinite(v))),
    },
  };
  writeFileAtomic(path.join(o.out, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`);
  loadAnyBundle(o.out); // what was written must load
  return { members: members.map((m) => ({ dir: m.dir, id: m.id, weight: m.weight, pMtl: m.pMtl })), report, auThresholds, out: o.out };
}
