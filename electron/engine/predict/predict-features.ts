/**
 * `predict --features DIR`: bundles run on precomputed per-frame features (`<video>.npy`, float32
 * [N, D], row k−1 = frame k) instead of videos, so a trained bundle can be scored with `eval` on
 * held-out features. A row with a NaN or infinite value is a frame without a face (models/temporal/sequences.ts);
 * every row becomes a CSV row.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { readNpyHeader, type NpyInfo } from '../../../models/data/npy.js';
import { scanFaceRows, nonFiniteWarning, type FeatureRowReport } from '../../../models/data/feature-rows.js';
import { maxGapFrames } from '../../../models/temporal/sequences.js';
import { writeFileAtomic } from '../../../common/node/storage.js';
import { toolVersion } from '../../../common/node/version.js';
import { describeError, UserError } from '../../../common/errors.js';
import { predictionFileName, predictionWriter, type PredictionFormat, type PredictionWriter } from '../export/prediction-csv.js';
import { precomputedBlocks, type FaceRowInfo, type Predictor } from './predictor.js';
import { RUN_FILE, type RunRecord, type VideoRecord } from './predict-job.js';

export { DEFAULT_FEATURES_FPS } from '../../../models/temporal/sequences.js';

export function featureFiles(dir: string): string[] {
  const root = existsSync(path.join(dir, 'features')) && statSync(path.join(dir, 'features')).isDirectory() ? path.join(dir, 'features') : dir;
  if (!existsSync(root)) throw new UserError('features folder not found', 'give the folder holding <video>.npy files', dir);
  const files = readdirSync(root).filter((f) => f.endsWith('.npy')).sort().map((f) => path.join(root, f));
  if (!files.length) throw new UserError('holds no <video>.npy files', 'give the folder holding the features', root);
  return files;
}

/**
 * The rows of a precomputed features file as face rows: row k−1 is frame k at (k−1)/fps seconds,
 * one face (id 0) where every value is finite, none where any is not (the rule training follows too).
 * Streams the file; `report` is complete once the rows have all been read.
 */
export function* precomputedRows(file: string, h: NpyInfo, fps: number, report?: FeatureRowReport): Generator<FaceRowInfo> {
  for (const r of scanFaceRows([{ file, info: h }], h.rows, report)) yield { ...r, timestamp: (r.frame - 1) / fps };
}

export async function predictFeatureFiles(predictor: Predictor, files: string[], o: { outDir: string; format: PredictionFormat; fps: number; onVideo?: (r: VideoRecord & { stem: string }) => void; onRunFileError?: (err: UserError) => void }): Promise<RunRecord> {
  const bundle = predictor.runners[0].bundle;
  const dim = bundle.manifest.features.dim;
  const record: RunRecord = {
    tool: 'affect-studio', version: toolVersion(), started: new Date().toISOString(), updated: '', settingsKey: '',
    settings: { format: o.format, precomputedFeatures: path.dirname(files[0]), fps: o.fps, maxGapSeconds: predictor.options.maxGapSeconds },
    executionProvider: predictor.provider, bundles: predictor.bundles, auThresholds: predictor.auThresholds, videos: {},
  };
  const workDir = path.join(o.outDir, `.work-${process.pid}`);
  try {
    for (const file of files) await predictFile(file);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return record;

  async function predictFile(file: string): Promise<void> {
    const stem = path.basename(file, '.npy');
    const t0 = performance.now();
    let entry: VideoRecord;
    let writer: PredictionWriter | undefined;
    try {
      const h = readNpyHeader(file);
      if (h.cols !== dim) throw new UserError(`has ${h.cols} features per frame, the bundle reads ${dim}`, 'use features made with the backbone(s) the bundle was trained on', file);
      // the first pass over the rows fills the report; the later ones must not count again
      const report: FeatureRowReport = { noFace: 0, nonFinite: 0 };
      let scans = 0;
      const source = () => precomputedRows(file, h, o.fps, scans++ === 0 ? report : undefined);
      const output = path.join(o.outDir, predictionFileName(stem, o.format));
      writer = predictionWriter(output, o.format, stem, predictor.auThresholds, file);
      const table = await predictor.predictRows(source, precomputedBlocks(bundle, file, h), maxGapFrames(predictor.options.maxGapSeconds, o.fps), { workDir, sink: writer });
      const formatWarnings = writer.finish();
      const warnings = [nonFiniteWarning(report), ...formatWarnings].filter((w): w is string => !!w);
      entry = {
        file, status: 'done', output: path.basename(output), frames: h.rows, faceRows: table.faceRows, faceIds: [0],
        noFaceFrames: report.noFace, seconds: (performance.now() - t0) / 1000, ...(warnings.length ? { warnings } : {}),
      };
    } catch (err) {
      writer?.abandon();
      entry = { file, status: 'failed', seconds: (performance.now() - t0) / 1000, error: describeError(err) };
    }
    record.videos[stem] = entry;
    record.updated = new Date().toISOString();
    try {
      writeFileAtomic(path.join(o.outDir, RUN_FILE), `${JSON.stringify(record, null, 2)}\n`);
    } catch (err) {
      o.onRunFileError?.(err as UserError);
    }
    o.onVideo?.({ ...entry, stem });
  }
}
