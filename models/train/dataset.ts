/**
 * Training data on the frame grid `predict` runs over: per video, every row of its features file
 * (`<dir>/<video>.npy`, float32 [N, D], row k−1 = frame k) cut into sequences by the one rule
 * (models/temporal/sequences.ts: a row with a non-finite value has no face, an absence longer than
 * the max gap starts a new sequence). The annotation files say which frames carry labels; the others
 * stay in the sequence, masked out of the loss (NaN for V/A, −1 for expression and AUs). A segment of
 * L frames therefore covers the same time in training as at inference, and normalisation, smoothing
 * and validation see the rows `predict` sees. Features are read from disk segment by segment.
 * Several feature folders are concatenated in the given order.
 */
import { UserError } from '../../common/errors.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { readLabels, readMtlFile, type FrameLabel, type LabelSet } from '../data/abaw-labels.js';
import { AUS } from '../../common/labels.js';
import { readNpyHeader, readNpyRows, type NpyInfo } from '../data/npy.js';
import { faceRowsOfFiles, rowsFromFiles, type FeatureRows } from '../data/feature-rows.js';
import { buildSequences, DEFAULT_FEATURES_FPS, DEFAULT_MAX_GAP_SECONDS, maxGapFrames } from '../temporal/sequences.js';

export interface TrainSequence {
  video: string;
  /** Frame numbers (1-based) of the rows, ascending. */
  frames: number[];
  /** rows × dim, read on demand */
  features: FeatureRows;
  valence: Float32Array;
  arousal: Float32Array;
  expression: Int8Array;
  /** rows × 12 */
  au: Int8Array;
}

export interface TrainSet {
  dim: number;
  sequences: TrainSequence[];
  /** Where the features came from, for the bundle manifest: one entry per feature folder. */
  sources: { id: string; version: string; dim: number }[];
}

/** A problem with the data, naming the file (and line or frame) and what to do. */
export class DataError extends UserError {
  constructor(message: string, file: string, hint = 'fix the data (formats: docs/training.md)') {
    super(message, hint, file);
    this.name = 'DataError';
  }
}

/** A sequence's labels, row by row (frames without a label stay masked). */
export function labelledSequence(video: string, frames: number[], features: FeatureRows, labelOf: (frame: number, row: number) => FrameLabel | undefined): TrainSequence {
  const n = frames.length;
  const seq: TrainSequence = {
    video, frames, features,
    valence: new Float32Array(n).fill(NaN), arousal: new Float32Array(n).fill(NaN),
    expression: new Int8Array(n).fill(-1), au: new Int8Array(n * AUS.length).fill(-1),
  };
  frames.forEach((f, i) => {
    const l = labelOf(f, i);
    if (!l) return;
    if (l.valence !== undefined) seq.valence[i] = l.valence;
    if (l.arousal !== undefined) seq.arousal[i] = l.arousal;
    if (l.expression !== undefined) seq.expression[i] = l.expression;
    if (l.au) seq.au.set(l.au, i * AUS.length);
  });
  return seq;
}

/** Whether any row of a sequence has a valid label for some task (sequences without one teach nothing). */
export function hasLabels(s: TrainSequence): boolean {
  for (let r = 0; r < s.frames.length; r++) {
    if (!Number.isNaN(s.valence[r]) || !Number.isNaN(s.arousal[r]) || s.expression[r] >= 0) return true;
    for (let j = 0; j < AUS.length; j++) if (s.au[r * AUS.length + j] >= 0) return true;
  }
  return false;
}

/** Which frames of which videos an annotation source lists (to extract only what is needed). */
export function listedFrames(annotations: string | string[]): Map<string, number[]> {
  const labels: LabelSet = new Map();
  for (const src of Array.isArray(annotations) ? annotations : [annotations]) {
    if (statSync(src).isDirectory()) readLabels(src, labels);
    else readMtlFile(src, labels);
  }
  return new Map([...labels].map(([v, frames]) => [v, [...frames.keys()]]));
}

export interface GridOptions {
  /** Frame rate of the features files (no timestamps in them): turns the max gap into frames. */
  fps?: number;
  /** Longest absence (seconds) bridged within a sequence, as `predict --max-gap`. */
  maxGapSeconds?: number;
}

/**
 * Loads an annotation source and every feature folder's files for its videos, on the frame grid.
 * Errors name the video and the file: a video without a features file, too few rows for its
 * labelled frames, a width that differs from the other videos', NaN or infinite values in a
 * labelled frame.
 */
export function loadPrecomputed(annotations: string | string[], featureDirs: string[], o: GridOptions & { sources?: TrainSet['sources'] } = {}): TrainSet {
  const labelSources = Array.isArray(annotations) ? annotations : [annotations];
  const annotationFile = labelSources.join(' + ');
  const labels: LabelSet = new Map();
  for (const src of labelSources) {
    if (!existsSync(src)) throw new DataError('annotation file not found', src);
    // a multi-task file, or a folder of Aff-Wild2 per-task files (line k+1 = frame k)
    if (statSync(src).isDirectory()) readLabels(src, labels);
    else readMtlFile(src, labels);
  }
  if (!labels.size) throw new DataError('lists no frames', annotationFile);
  const widths = featureDirs.map((dir) => {
    if (!existsSync(dir)) throw new DataError('features folder not found', dir);
    const first = [...labels.keys()].sort().map((v) => path.join(dir, `${v}.npy`)).find((f) => existsSync(f));
    if (!first) throw new DataError(`none of the ${labels.size} listed videos has a features file here (<video>.npy)`, dir);
    return readNpyHeader(first).cols;
  });
  const dim = widths.reduce((a, b) => a + b, 0);
  const gap = maxGapFrames(o.maxGapSeconds ?? DEFAULT_MAX_GAP_SECONDS, o.fps ?? DEFAULT_FEATURES_FPS);
  const sequences: TrainSequence[] = [];
  for (const video of [...labels.keys()].sort()) {
    const byFrame = labels.get(video) as Map<number, FrameLabel>;
    const last = Math.max(...byFrame.keys());
    const files = featureDirs.map((dir, d) => {
      const file = path.join(dir, `${video}.npy`);
      if (!existsSync(file)) throw new DataError(`video "${video}" is listed in ${path.basename(annotationFile)} but has no features file`, file, 'extract its features, or remove it from the annotation file');
      let info: NpyInfo;
      try {
        info = readNpyHeader(file);
      } catch (err) {
        throw new DataError((err as Error).message, file);
      }
      if (info.cols !== widths[d]) throw new DataError(`has ${info.cols} features per frame, the other videos in this folder have ${widths[d]}`, file, 'extract all videos with the same backbone');
      if (info.rows < last) throw new DataError(`has ${info.rows} rows, but frame ${last} is annotated (row k−1 holds frame k)`, file);
      return { file, info };
    });
    const grid = faceRowsOfFiles(files);
    for (const f of byFrame.keys()) {
      if (grid[f - 1].faceId === undefined) {
        // a labelled frame must have features: say where the bad value is
        for (const { file, info } of files) {
          const row = readNpyRows(file, info, f - 1, 1);
          const j = row.findIndex((x) => !Number.isFinite(x));
          if (j >= 0) throw new DataError(`frame ${f} (row ${f - 1}) has a ${Number.isNaN(row[j]) ? 'NaN' : 'non-finite'} value in column ${j}`, file, 'fix or re-extract this video\'s features');
        }
      }
    }
    for (const track of buildSequences(grid, gap)) {
      const seq = labelledSequence(video, track.rows.map((r) => r + 1), rowsFromFiles(files, track.rows), (frame) => byFrame.get(frame));
      if (hasLabels(seq)) sequences.push(seq);
    }
  }
  return { dim, sequences, sources: o.sources ?? featureDirs.map((d, i) => ({ id: path.basename(path.resolve(d)), version: 'precomputed', dim: widths[i] })) };
}

const PER_TASK = ['VA_Estimation_Challenge', 'EXPR_Recognition_Challenge', 'EXPR_Classification_Challenge', 'AU_Detection_Challenge'];

/**
 * `<root>` with `features/` and either the s-Aff-Wild2 annotation files or the Aff-Wild2 per-task
 * folders (`<task>/Train_Set`, `<task>/Validation_Set`): the label sources they imply.
 */
export function findLayout(root: string): { train: string | string[]; val?: string | string[]; features: string; images?: string } {
  const features = path.join(root, 'features');
  // s-Aff-Wild2's aligned face images, used when there are no precomputed features
  const images = !existsSync(features) && existsSync(path.join(root, 'cropped_aligned')) ? path.join(root, 'cropped_aligned') : undefined;
  const names = existsSync(root) ? readdirSync(root) : [];
  const tasks = PER_TASK.filter((t) => names.includes(t));
  if (tasks.length) {
    const split = (name: string) => tasks.map((t) => path.join(root, t, name)).filter((d) => existsSync(d));
    const train = split('Train_Set');
    if (!train.length) throw new DataError('per-task folders without Train_Set', root);
    const val = split('Validation_Set');
    return { train, val: val.length ? val : undefined, features, images };
  }
  const train = names.find((n) => /^training_set_annotations\.txt$/i.test(n)) ?? names.find((n) => /train.*\.txt$/i.test(n));
  const val = names.find((n) => /^validation_set_annotations\.txt$/i.test(n)) ?? names.find((n) => /val.*\.txt$/i.test(n));
  if (!train) throw new DataError('no training_set_annotations.txt', root, 'point --data at the folder holding the annotation files and features/');
  return { train: path.join(root, train), val: val ? path.join(root, val) : undefined, features, images };
}
