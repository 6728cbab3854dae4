/**
 * Training data from a project's own annotations: for each annotated video, its main face's
 * sequences as `predict` builds them from the faces table (models/temporal/sequences.ts: the face's
 * tracked frames, a new sequence after an absence longer than the max gap), features read from the
 * feature cache's file, each row labelled from the annotations at the frame's time — traces for
 * V/A, segments for the expression, AU ranges. Frames an annotator did not cover stay unlabelled
 * (masked), as in ABAW files.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AUS } from '../../../common/labels.js';
import { readNpyHeader } from '../../../models/data/npy.js';
import { rowsFromFiles, type FeatureRows } from '../../../models/data/feature-rows.js';
import type { FrameLabel } from '../../../models/data/abaw-labels.js';
import { hasLabels, labelledSequence, type TrainSequence, type TrainSet } from '../../../models/train/dataset.js';
import { buildSequences, DEFAULT_MAX_GAP_SECONDS, maxGapFrames } from '../../../models/temporal/sequences.js';
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

/** The labels the documents give at time t (the first document listed wins where several do). */
function labelAt(docs: AnnotationDoc[], t: number): FrameLabel {
  const l: FrameLabel = {};
  for (const doc of [...docs].reverse()) {
    const va = traceValueAt(doc, t);
    if (va.valence !== null) l.valence = va.valence;
    if (va.arousal !== null) l.arousal = va.arousal;
    const e = segmentAt(doc, t);
    if (e !== null) l.expression = e;
    const au = auAt(doc, t);
    if (au) l.au = au;
  }
  return l;
}

export async function sequencesFromAnnotations(videos: AnnotatedVideo[], features: FeaturePipeline, workDir: string, signal?: AbortSignal): Promise<TrainSet> {
  const sequences: TrainSequence[] = [];
  const dim = features.extractors.reduce((a, e) => a + e.dim, 0);
  for (const [i, v] of videos.entries()) {
    const r = await features.run(v.file, { outDir: workDir, stem: `v${i}`, signal });
    const table = readFacesTable(r.outputs.facesCsv);
    const main = mainFaceId(table);
    if (main === undefined) continue; // no face: nothing to learn from
    const rows = table.map((row) => ({ frame: row.frame, timestamp: row.timestamp, faceId: row.face?.faceId }));
    // the sequences predict runs this face over (same rule, same frame rate)
    const fps = (JSON.parse(readFileSync(r.outputs.meta, 'utf8')) as { video: { fps: number } }).video.fps || 25;
    const npy = { file: r.outputs.featuresNpy, info: readNpyHeader(r.outputs.featuresNpy) };
    for (const track of buildSequences(rows, maxGapFrames(DEFAULT_MAX_GAP_SECONDS, fps)).filter((t) => t.faceId === main)) {
      const seq = labelledSequence(path.basename(v.file), track.rows.map((k) => rows[k].frame), rowsFromFiles([npy], track.rows), (_, k) => labelAt(v.docs, rows[track.rows[k]].timestamp));
      if (hasLabels(seq)) sequences.push(seq);
    }
  }
  if (!sequences.length) throw new UserError('none of the annotated videos has a tracked face with annotations', 'annotate videos with a visible face');
  return { dim, sequences, sources: features.extractors.map((e) => ({ id: e.id, version: e.version, dim: e.dim })) };
}

/** Rows [from, to) of a sequence's features. */
const sliceRows = (rows: FeatureRows, from: number, to: number): FeatureRows => ({ length: to - from, dim: rows.dim, read: (start, count, into) => rows.read(from + start, count, into) });

/**
 * Validation: the sequences of the last fifth of the videos (at least one); with a single video, its
 * last fifth of frames (the sequence the cut falls in is cut in two). Returns [train, validation].
 */
export function splitForValidation(seqs: TrainSequence[]): [TrainSequence[], TrainSequence[]] {
  const videos = [...new Set(seqs.map((s) => s.video))];
  if (videos.length >= 2) {
    const val = new Set(videos.slice(videos.length - Math.max(1, Math.round(videos.length / 5))));
    return [seqs.filter((s) => !val.has(s.video)), seqs.filter((s) => val.has(s.video))];
  }
  const total = seqs.reduce((a, s) => a + s.frames.length, 0);
  let cut = Math.floor(total * 0.8);
  const train: TrainSequence[] = [];
  const val: TrainSequence[] = [];
  const part = (s: TrainSequence, from: number, to: number): TrainSequence => ({
    video: s.video, frames: s.frames.slice(from, to), features: sliceRows(s.features, from, to),
    valence: s.valence.slice(from, to), arousal: s.arousal.slice(from, to), expression: s.expression.slice(from, to), au: s.au.slice(from * AUS.length, to * AUS.length),
  });
  for (const s of seqs) {
    const n = s.frames.length;
    if (cut >= n) train.push(s);
    else if (cut <= 0) val.push(s);
    else train.push(part(s, 0, cut)), val.push(part(s, cut, n));
    cut -= n;
  }
  return [train, val];
}
