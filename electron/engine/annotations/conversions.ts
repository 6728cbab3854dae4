/**
 * Annotations ↔ per-frame labels: export to and import from the Aff-Wild2 per-task files, and
 * pre-fill from a model run (docs/annotations.md).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { readPerTaskFile, type LabelSet } from '../../../models/data/abaw-labels.js';
import { AUS, EXPRESSIONS, topExpression } from '../../../common/labels.js';
import { writeFileAtomic } from '../../../common/node/storage.js';
import { auAt, emptyDoc, segmentAt, traceValueAt } from '../../../common/annotations.js';
import type { AnnotationDoc } from '../../../common/annotations.js';
import { mainFace, type RunData } from '../../../common/run-data.js';
import { DEFAULT_MIN_PIECE_SECONDS } from '../../../common/annotation-merge.js';
import { runs } from '../../../common/runs.js';

/**
 * The shortest piece of a suggestion that merging keeps (common/annotation-merge.ts): half the
 * video's median frame interval. A shorter leftover is a rounding sliver that would hold no frame.
 */
export function sliverSeconds(frameTimes: number[]): number {
  const steps = frameTimes.slice(1).map((t, k) => t - frameTimes[k]).filter((d) => d > 0).sort((a, b) => a - b);
  return steps.length ? steps[steps.length >> 1] / 2 : DEFAULT_MIN_PIECE_SECONDS;
}

export const TASK_FOLDERS = { va: 'VA_Estimation_Challenge', expression: 'EXPR_Recognition_Challenge', au: 'AU_Detection_Challenge' } as const;

/** Writes the annotator's tasks as Aff-Wild2 per-task files (line k+1 = frame k). */
export function exportAbaw(doc: AnnotationDoc, frameTimes: number[], dir: string, video: string): string[] {
  const files: string[] = [];
  const write = (task: keyof typeof TASK_FOLDERS, header: string, line: (t: number) => string) => {
    const file = path.join(dir, TASK_FOLDERS[task], `${video}.txt`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, `${header}\n${frameTimes.map(line).join('\n')}\n`);
    files.push(file);
  };
  if (doc.traces.length) {
    write('va', 'valence,arousal', (t) => {
      const v = traceValueAt(doc, t);
      return `${v.valence === null ? -5 : v.valence.toFixed(4)},${v.arousal === null ? -5 : v.arousal.toFixed(4)}`;
    });
  }
  if (doc.segments.length) write('expression', EXPRESSIONS.join(','), (t) => String(segmentAt(doc, t) ?? -1));
  if (doc.aus.length) write('au', AUS.join(','), (t) => Array.from(auAt(doc, t) ?? AUS.map(() => -1)).join(','));
  return files;
}

/** Reads this video's per-task files from an Aff-Wild2 folder into a document. */
export function importAbaw(dir: string, video: string, frameTimes: number[], base: { path: string; name: string }, annotator: string): AnnotationDoc {
  const set: LabelSet = new Map();
  let found = 0;
  for (const folder of Object.values(TASK_FOLDERS)) {
    for (const sub of ['', 'Train_Set', 'Validation_Set']) {
      const file = path.join(dir, folder, sub, `${video}.txt`);
      if (existsSync(file)) {
        readPerTaskFile(file, set);
        found++;
      }
    }
  }
  if (!found) throw new Error(`no ${video}.txt in ${Object.values(TASK_FOLDERS).join(', ')} under ${dir}`);
  const frames = set.get(video) ?? new Map();
  const doc = emptyDoc(base, annotator, new Date().toISOString());
  const time = (k: number) => frameTimes[k - 1] ?? (k - 1) / 30;
  const end = (k: number) => frameTimes[k] ?? time(k) + (frameTimes[1] ?? 1 / 30) - (frameTimes[0] ?? 0);
  const samples: [number, number, number][] = [];
  const sorted = [...frames.keys()].sort((a, b) => a - b);
  for (const k of sorted) {
    const l = frames.get(k);
    if (l.valence !== undefined && l.arousal !== undefined) samples.push([time(k), l.valence, l.arousal]);
  }
  if (samples.length) doc.traces.push({ id: 'imported-va', dims: 'va', input: 'import', started: doc.created, samples });
  // consecutive frames with the same class (or AU on) become one segment (range)
  const segments = (value: (k: number) => number | null) =>
    runs((i) => value(sorted[i]), 0, sorted.length, (i) => sorted[i] === sorted[i - 1] + 1).map((r) => ({ start: time(sorted[r.from]), end: end(sorted[r.to - 1]), value: r.value }));
  for (const s of segments((k) => frames.get(k)?.expression ?? null)) doc.segments.push({ id: `imp-e-${doc.segments.length}`, start: s.start, end: s.end, cls: s.value, source: 'human' });
  AUS.forEach((au, j) => {
    for (const s of segments((k) => (frames.get(k)?.au?.[j] === 1 ? 1 : null))) doc.aus.push({ id: `imp-${au}-${doc.aus.length}`, au, start: s.start, end: s.end, source: 'human' });
  });
  return doc;
}

/**
 * A document pre-filled from a model run (its main face): expression segments, AU ranges and a V/A
 * trace, all marked `source: model` with their mean confidence, for the annotator to correct.
 */
export function prefillFromRun(run: RunData, base: { path: string; name: string }, annotator: string): AnnotationDoc {
  const doc = emptyDoc(base, annotator, new Date().toISOString());
  const face = mainFace(run);
  if (!face) return doc;
  const n = face.frames.length;
  const step = n > 1 ? (face.times[n - 1] - face.times[0]) / (n - 1) : 1 / 30;
  const endOf = (i: number) => (i + 1 < n ? face.times[i + 1] : face.times[i] + step);
  /** Runs of consecutive frames with the same label (null: no label), with their mean confidence. */
  const segmentsOf = (label: (i: number) => number | null, conf: (i: number) => number, emit: (s: number, e: number, v: number, c: number) => void) => {
    for (const r of runs(label, 0, n, (i) => face.frames[i] === face.frames[i - 1] + 1)) {
      let sum = 0;
      for (let i = r.from; i < r.to; i++) sum += conf(i);
      emit(face.times[r.from], endOf(r.to - 1), r.value, sum / (r.to - r.from));
    }
  };
  const expr = face.expression;
  if (expr) {
    const top = (i: number) => topExpression(expr, i);
    segmentsOf(top, (i) => expr[i * EXPRESSIONS.length + top(i)], (s, e, v, c) => doc.segments.push({ id: `m-e-${doc.segments.length}`, start: s, end: e, cls: v, source: 'model', confidence: c }));
  }
  const au = face.au;
  if (au) {
    AUS.forEach((name, j) => {
      const on = (i: number) => (au[i * AUS.length + j] >= run.auThresholds[j] ? 1 : null);
      segmentsOf(on, (i) => au[i * AUS.length + j], (s, e, _v, c) => doc.aus.push({ id: `m-${name}-${doc.aus.length}`, au: name, start: s, end: e, source: 'model', confidence: c }));
    });
  }
  const samples: [number, number, number][] = [];
  face.times.forEach((t, i) => {
    const v = face.valence[i];
    const a = face.arousal[i];
    if (v !== null && a !== null) samples.push([t, v, a]);
  });
  if (samples.length) doc.traces.push({ id: 'model-va', dims: 'va', input: 'model', started: doc.created, samples });
  return doc;
}
