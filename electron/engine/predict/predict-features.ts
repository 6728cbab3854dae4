/**
 * `predict --features DIR`: bundles run on precomputed per-frame features (`<video>.npy`, float32
 * [N, D], row k−1 = frame k) instead of videos, so a trained bundle can be scored with `eval` on
 * held-out features. A row of NaN is a frame without a face; every row becomes a CSV row.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { readNpyHeader, readNpyRows, type NpyInfo } from '../../../models/data/npy.js';
import { writeFileAtomic } from '../../../common/node/storage.js';
import { toolVersion } from '../../../common/node/version.js';
import { describeError, UserError } from '../../../common/errors.js';
import { predictionFileName, writePredictions, type PredictionFormat } from '../export/prediction-csv.js';
import { precomputedBlocks, type Predictor } from './predictor.js';
import { RUN_FILE, type RunRecord, type VideoRecord } from './predict-job.js';

/** Frame rate assumed for precomputed features (their rows carry no times), unless told otherwise. */
export const DEFAULT_FEATURES_FPS = 30;

export function featureFiles(dir: string): string[] {
  const root = existsSync(path.join(dir, 'features')) && statSync(path.join(dir, 'features')).isDirectory() ? path.join(dir, 'features') : dir;
  if (!existsSync(root)) throw new UserError('features folder not found', 'give the folder holding <video>.npy files', dir);
  const files = readdirSync(root).filter((f) => f.endsWith('.npy')).sort().map((f) => path.join(root, f));
  if (!files.length) throw new UserError('holds no <video>.npy files', 'give the folder holding the features', root);
  return files;
}

/** What a features file holds besides finite rows: all-NaN rows (no face, as documented) and rows damaged by stray NaN/Inf. */
export interface FeatureRowReport {
  noFace: number;
  /** Rows with some (not all) NaN, or any ±Inf: not a valid "no face" row, and not usable either. */
  nonFinite: number;
  first?: { frame: number; column: number; value: number };
}

/**
 * The rows of a precomputed features file as face rows: row k−1 is frame k at (k−1)/fps seconds,
 * one face (id 0) where every value is finite, none where any is not. `report` counts the rows
 * without a face, telling the documented all-NaN rows from rows with stray NaN/Inf values.
 */
export function precomputedRows(file: string, h: NpyInfo, fps: number, report: FeatureRowReport = { noFace: 0, nonFinite: 0 }): { frame: number; timestamp: number; faceId?: number }[] {
  const rows: { frame: number; timestamp: number; faceId?: number }[] = [];
  for (let start = 0; start < h.rows; start += 1024) {
    const n = Math.min(1024, h.rows - start);
    const chunk = readNpyRows(file, h, start, n);
    for (let r = 0; r < n; r++) {
      const row = chunk.subarray(r * h.cols, (r + 1) * h.cols);
      const bad = row.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) {
        if (row.every(Number.isNaN)) report.noFace++;
        else {
          report.nonFinite++;
          report.first ??= { frame: start + r + 1, column: bad, value: row[bad] };
        }
      }
      rows.push({ frame: start + r + 1, timestamp: (start + r) / fps, faceId: bad < 0 ? 0 : undefined });
    }
  }
  return rows;
}

/** The warning for rows with stray NaN/Inf, naming the first one; undefined when there are none. */
export function nonFiniteWarning(report: FeatureRowReport): string | undefined {
  if (!report.nonFinite || !report.first) return undefined;
  const f = report.first;
  return `${report.nonFinite} frame(s) have NaN/Inf among finite features (first: frame ${f.frame}, column ${f.column} = ${f.value}); they are predicted as frames without a face — check the features`;
}

export async function predictFeatureFiles(predictor: Predictor, files: string[], o: { outDir: string; format: PredictionFormat; fps: number; onVideo?: (r: VideoRecord & { stem: string }) => void; onRunFileError?: (err: UserError) => void }): Promise<RunRecord> {
  const bundle = predictor.runners[0].bundle;
  const blocks = precomputedBlocks(bundle);
  const dim = bundle.manifest.features.dim;
  const record: RunRecord = {
    tool: 'affect-studio', version: toolVersion(), started: new Date().toISOString(), updated: '', settingsKey: '',
    settings: { format: o.format, precomputedFeatures: path.dirname(files[0]), fps: o.fps, maxGapSeconds: predictor.options.maxGapSeconds },
    executionProvider: predictor.provider, bundles: predictor.bundles, auThresholds: predictor.auThresholds, videos: {},
  };
  for (const file of files) {
    const stem = path.basename(file, '.npy');
    const t0 = performance.now();
    let entry: VideoRecord;
    try {
      const h = readNpyHeader(file);
      if (h.cols !== dim) throw new UserError(`has ${h.cols} features per frame, the bundle reads ${dim}`, 'use features made with the backbone(s) the bundle was trained on', file);
      const report: FeatureRowReport = { noFace: 0, nonFinite: 0 };
      const faceRows = precomputedRows(file, h, o.fps, report);
      const rows = await predictor.predictRows(faceRows, file, blocks, Math.round(predictor.options.maxGapSeconds * o.fps));
      const output = path.join(o.outDir, predictionFileName(stem, o.format));
      const formatWarnings = writePredictions(output, o.format, stem, rows, predictor.auThresholds, file);
      const warnings = [nonFiniteWarning(report), ...formatWarnings].filter((w): w is string => !!w);
      entry = {
        file, status: 'done', output: path.basename(output), frames: h.rows, faceRows: faceRows.filter((r) => r.faceId !== undefined).length, faceIds: [0],
        noFaceFrames: report.noFace, seconds: (performance.now() - t0) / 1000, ...(warnings.length ? { warnings } : {}),
      };
    } catch (err) {
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
  return record;
}
