/**
 * Training data from a project's own annotations: for each annotated video, the features of its
 * main face (through the feature cache) at every frame where that face is tracked, labelled from
 * the annotations at the frame's time — traces for V/A, segments for the expression, AU ranges.
 * Frames an annotator did not cover stay unlabelled (masked), as in ABAW files.
 */
import path from 'node:path';
import { AUS } from '../../../common/labels.js';
import { readNpyHeader, readNpyRows } from '../../../models/data/npy.js';
import type { TrainSequence, TrainSet } from '../../../models/train/dataset.js';
import { auAt, segmentAt, traceValueAt } from '../../../common/annotations.js';
import type { AnnotationDoc } from '../../../common/annotations.js';
import type { FeaturePipeline } from '../features/pipeline.js';
import { mainFaceId, readFacesTable } from '../features/faces-table.js';
import { UserError } from '../../../common/errors.js';

export interface AnnotatedVideo {
  file: string;
  /** The annotators' documents; where several cover a frame, the first one listed wins. */
  docs: AnnotationDoc[];
}

export async function sequencesFromAnnotations(videos: AnnotatedVideo[], features: FeaturePipeline, workDir: string, signal?: AbortSignal): Promise<TrainSet> {
  const sequences: TrainSequence[] = [];
  const dim = features.extractors.reduce((a, e) => a + e.dim, 0);
  for (const [i, v] of videos.entries()) {
    const r = await features.run(v.file, { outDir: workDir, stem: `v${i}`, signal });
    const rows = readFacesTable(r.outputs.facesCsv);
    const main = mainFaceId(rows);
    if (main === undefined) continue; // no face: nothing to learn from
    const picked = rows.map((row, index) => ({ row, index })).filter(({ row }) => row.face?.faceId === main);
    const h = readNpyHeader(r.outputs.featuresNpy);
    const n = picked.length;
    const seq: TrainSequence = {
      video: path.basename(v.file), frames: picked.map(({ row }) => row.frame), features: new Float32Array(n * dim),
      valence: new Float32Array(n).fill(NaN), arousal: new Float32Array(n).fill(NaN), expression: new Int8Array(n).fill(-1), au: new Int8Array(n * AUS.length).fill(-1),
    };
    picked.forEach(({ row, index }, k) => {
      seq.features.set(readNpyRows(r.outputs.featuresNpy, h, index, 1), k * dim);
      const t = row.timestamp;
      for (const doc of [...v.docs].reverse()) {
        const va = traceValueAt(doc, t);
        if (va.valence !== null) seq.valence[k] = va.valence;
        if (va.arousal !== null) seq.arousal[k] = va.arousal;
        const e = segmentAt(doc, t);
        if (e !== null) seq.expression[k] = e;
        const au = auAt(doc, t);
        if (au) seq.au.set(au, k * AUS.length);
      }
    });
    sequences.push(seq);
  }
  if (!sequences.length) throw new UserError('none of the annotated videos has a tracked face', 'annotate videos with a visible face');
  return { dim, sequences, sources: features.extractors.map((e) => ({ id: e.id, version: e.version, dim: e.dim })) };
}

/**
 * Validation: the last fifth of the videos (at least one); with a single video, its last fifth of
 * frames. Returns [train, validation].
 */
export function splitForValidation(seqs: TrainSequence[], dim: number): [TrainSequence[], TrainSequence[]] {
  if (seqs.length >= 2) {
    const nVal = Math.max(1, Math.round(seqs.length / 5));
    return [seqs.slice(0, seqs.length - nVal), seqs.slice(seqs.length - nVal)];
  }
  const s = seqs[0];
  const cut = Math.floor(s.frames.length * 0.8);
  const part = (from: number, to: number): TrainSequence => ({
    video: s.video, frames: s.frames.slice(from, to), features: s.features.slice(from * dim, to * dim),
    valence: s.valence.slice(from, to), arousal: s.arousal.slice(from, to), expression: s.expression.slice(from, to), au: s.au.slice(from * AUS.length, to * AUS.length),
  });
  return [[part(0, cut)], [part(cut, s.frames.length)]];
}
