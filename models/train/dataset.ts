/**
 * Training data: per video, the annotated frames in order, their features and their labels
 * (missing labels masked per task: NaN for V/A, −1 for expression and AUs).
 *
 * Precomputed features (the paper's backbones, or anything else): `<dir>/<video>.npy`, float32
 * [N, D], row k−1 = frame k; annotations in the s-Aff-Wild2 layout say which frames are labelled.
 * Several feature folders are concatenated in the given order.
 */
import { UserError } from '../../common/errors.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { readLabels, readMtlFile, type LabelSet } from '../data/abaw-labels.js';
import { AUS } from '../../common/labels.js';
import { readNpyHeader, readNpyRows } from '../data/npy.js';

export interface TrainSequence {
  video: string;
  /** Frame numbers (1-based) of the rows, ascending. */
  frames: number[];
  /** rows × dim */
  features: Float32Array;
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

export function labelsToSequences(labels: LabelSet, dim: number, rowsOf: (video: string, frames: number[]) => Float32Array): TrainSequence[] {
  const out: TrainSequence[] = [];
  for (const video of [...labels.keys()].sort()) {
    const byFrame = labels.get(video) as Map<number, import('../data/abaw-labels.js').FrameLabel>;
    const frames = [...byFrame.keys()].sort((a, b) => a - b);
    const n = frames.length;
    const seq: TrainSequence = {
      video, frames, features: rowsOf(video, frames),
      valence: new Float32Array(n).fill(NaN), arousal: new Float32Array(n).fill(NaN),
      expression: new Int8Array(n).fill(-1), au: new Int8Array(n * AUS.length).fill(-1),
    };
    if (seq.features.length !== n * dim) throw new Error(`internal: ${video} features ${seq.features.length} for ${n}×${dim}`);
    frames.forEach((f, i) => {
      const l = byFrame.get(f);
      if (!l) return;
      if (l.valence !== undefined) seq.valence[i] = l.valence;
      if (l.arousal !== undefined) seq.arousal[i] = l.arousal;
      if (l.expression !== undefined) seq.expression[i] = l.expression;
      if (l.au) seq.au.set(l.au, i * AUS.length);
    });
    out.push(seq);
  }
  return out;
}

/**
 * Loads an annotation file and the matching rows of every feature folder. Errors name the video and
 * the file: a video without a features file, too few rows for its frames, a width that differs from
 * the other videos', NaN or infinite values in a labelled frame.
 */
/** Which frames of which videos an annotation source lists (to extract only what is needed). */
export function listedFrames(annotations: string | string[]): Map<string, number[]> {
  const labels: LabelSet = new Map();
  for (const src of Array.isArray(annotations) ? annotations : [annotations]) {
    if (statSync(src).isDirectory()) readLabels(src, labels);
    else readMtlFile(src, labels);
  }
  return new Map([...labels].map(([v, frames]) => [v, [...frames.keys()]]));
}

export function loadPrecomputed(annotations: string | string[], featureDirs: string[], featureSources?: TrainSet['sources']): TrainSet {
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
  const rowsOf = (video: string, frames: number[]): Float32Array => {
    const out = new Float32Array(frames.length * dim);
    let offset = 0;
    featureDirs.forEach((dir, d) => {
      const file = path.join(dir, `${video}.npy`);
      if (!existsSync(file)) throw new DataError(`video "${video}" is listed in ${path.basename(annotationFile)} but has no features file`, file, 'extract its features, or remove it from the annotation file');
      let h;
      try {
        h = readNpyHeader(file);
      } catch (err) {
        throw new DataError((err as Error).message, file);
      }
      if (h.cols !== widths[d]) throw new DataError(`has ${h.cols} features per frame, the other videos in this folder have ${widths[d]}`, file, 'extract all videos with the same backbone');
      const last = frames[frames.length - 1];
      if (h.rows < last) throw new DataError(`has ${h.rows} rows, but frame ${last} is annotated (row k−1 holds frame k)`, file);
      const all = readNpyRows(file, h, 0, last);
      frames.forEach((f, i) => {
        const row = all.subarray((f - 1) * h.cols, f * h.cols);
        for (let j = 0; j < row.length; j++) {
          if (!Number.isFinite(row[j])) throw new DataError(`frame ${f} (row ${f - 1}) has a ${Number.isNaN(row[j]) ? 'NaN' : 'non-finite'} value in column ${j}`, file, 'fix or re-extract this video\'s features');
        }
        out.set(row, i * dim + offset);
      });
      offset += h.cols;
    });
    return out;
  };
  const sequences = labelsToSequences(labels, dim, rowsOf);
  return { dim, sequences, sources: featureSources ?? featureDirs.map((d, i) => ({ id: path.basename(path.resolve(d)), version: 'precomputed', dim: widths[i] })) };
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
