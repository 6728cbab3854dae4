/**
 * Annotations ↔ per-frame labels: export to and import from the Aff-Wild2 per-task files, pre-fill
 * from a model run, and agreement between annotators and with a model (docs/annotations.md).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { readPerTaskFile, type LabelSet } from '../../../models/data/abaw-labels.js';
import { AUS, EXPRESSIONS } from '../../../models/labels.js';
import { writeFileAtomic } from '../../../models/storage.js';
import { emptyDoc, segmentAt, traceValueAt } from '../../api/annotation-ops.js';
import type { AgreementReport, AnnotationDoc, FaceSeries, RunData } from '../../api/contract.js';
import { auF1, ccc, icc31, macroF1 } from '../../../models/metrics.js';
import { UserError } from '../errors.js';

export const TASK_FOLDERS = { va: 'VA_Estimation_Challenge', expression: 'EXPR_Recognition_Challenge', au: 'AU_Detection_Challenge' } as const;

/**
 * Per-frame AU labels: inside an AU's ranges 1; elsewhere within the span the annotator coded AUs
 * (first to last AU range) 0; outside it −1 (not labelled).
 */
export function auAt(doc: AnnotationDoc, t: number): Int8Array | null {
  if (!doc.aus.length) return null;
  const lo = Math.min(...doc.aus.map((r) => r.start));
  const hi = Math.max(...doc.aus.map((r) => r.end));
  if (t < lo || t >= hi) return null;
  const out = new Int8Array(AUS.length);
  for (const r of doc.aus) {
    const j = AUS.indexOf(r.au as (typeof AUS)[number]);
    if (j >= 0 && t >= r.start && t < r.end) out[j] = 1;
  }
  return out;
}

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
  const runs = (value: (k: number) => number | null, emit: (start: number, endT: number, v: number) => void) => {
    let cur: { from: number; to: number; v: number } | undefined;
    for (const k of sorted) {
      const v = value(k);
      if (cur && v === cur.v && k === cur.to + 1) cur.to = k;
      else {
        if (cur) emit(time(cur.from), end(cur.to), cur.v);
        cur = v === null ? undefined : { from: k, to: k, v };
      }
    }
    if (cur) emit(time(cur.from), end(cur.to), cur.v);
  };
  runs((k) => frames.get(k)?.expression ?? null, (s, e, v) => doc.segments.push({ id: `imp-e-${doc.segments.length}`, start: s, end: e, cls: v, source: 'human' }));
  AUS.forEach((au, j) => runs((k) => (frames.get(k)?.au?.[j] === 1 ? 1 : null), (s, e) => doc.aus.push({ id: `imp-${au}-${doc.aus.length}`, au, start: s, end: e, source: 'human' })));
  return doc;
}

/** The face seen in most frames of a run. */
export const mainFace = (run: RunData): FaceSeries | undefined => [...run.faces].sort((a, b) => b.frames.length - a.frames.length)[0];

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
    let cur: { from: number; v: number; sum: number } | undefined;
    const close = (last: number) => {
      if (cur) emit(face.times[cur.from], endOf(last), cur.v, cur.sum / (last - cur.from + 1));
      cur = undefined;
    };
    for (let i = 0; i < n; i++) {
      const v = label(i);
      const contiguous = i > 0 && face.frames[i] === face.frames[i - 1] + 1;
      if (cur && (v !== cur.v || !contiguous)) close(i - 1);
      if (v === null) continue;
      if (!cur) cur = { from: i, v, sum: 0 };
      cur.sum += conf(i);
    }
    close(n - 1);
  };
  const expr = face.expression;
  if (expr) {
    const argmax = (i: number) => {
      let best = 0;
      for (let c = 1; c < 8; c++) if (expr[i * 8 + c] > expr[i * 8 + best]) best = c;
      return best;
    };
    segmentsOf(argmax, (i) => expr[i * 8 + argmax(i)], (s, e, v, c) => doc.segments.push({ id: `m-e-${doc.segments.length}`, start: s, end: e, cls: v, source: 'model', confidence: c }));
  }
  const au = face.au;
  if (au) {
    AUS.forEach((name, j) => {
      const on = (i: number) => (au[i * 12 + j] >= run.auThresholds[j] ? 1 : null);
      segmentsOf(on, (i) => au[i * 12 + j], (s, e, _v, c) => doc.aus.push({ id: `m-${name}-${doc.aus.length}`, au: name, start: s, end: e, source: 'model', confidence: c }));
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

const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Head-pose limits (degrees) for agreement statistics: frames of larger |yaw| or |pitch| are left out. */
export interface PoseFilter {
  maxYaw?: number;
  maxPitch?: number;
}

/**
 * Which of the main face's rows pass the pose filter. A row without a pose estimate does not pass:
 * the filter keeps only frames known to be within the limits.
 */
function poseGate(face: FaceSeries, filter: PoseFilter): (i: number) => boolean {
  const pose = face.pose;
  if (!pose) throw new UserError('this run has no head pose to filter frames by', 'run the model again (runs made now carry head pose), or drop the pose filter');
  return (i) => {
    const pitch = pose[3 * i], yaw = pose[3 * i + 1];
    if (pitch === null || yaw === null) return false;
    return (filter.maxYaw === undefined || Math.abs(yaw) <= filter.maxYaw) && (filter.maxPitch === undefined || Math.abs(pitch) <= filter.maxPitch);
  };
}

/**
 * Agreement between annotators, and of a model run with each, at the video's frames (frameTimes[k]
 * is frame k + 1). With a pose filter, every statistic uses only the frames where the run's main face
 * is within the limits.
 */
export function agreement(docs: AnnotationDoc[], frameTimes: number[], run?: RunData, poseFilter?: PoseFilter): AgreementReport {
  const face = run && mainFace(run);
  let keepRow: (i: number) => boolean = () => true;
  let keepFrame: (k: number) => boolean = () => true;
  let filterReport: AgreementReport['poseFilter'];
  if (poseFilter) {
    if (!run) throw new UserError('a pose filter needs a run whose head pose it uses', 'choose a run');
    if (!face) throw new UserError('the run has no face to take the head pose from', 'choose another run');
    keepRow = poseGate(face, poseFilter);
    const rowOfFrame = new Map(face.frames.map((f, i) => [f, i]));
    keepFrame = (k) => {
      const i = rowOfFrame.get(k + 1);
      return i !== undefined && keepRow(i);
    };
    const kept = frameTimes.filter((_, k) => keepFrame(k)).length;
    filterReport = { maxYaw: poseFilter.maxYaw ?? null, maxPitch: poseFilter.maxPitch ?? null, framesKept: kept, framesDropped: frameTimes.length - kept };
  }
  const pairs: AgreementReport['pairs'] = [];
  for (let i = 0; i < docs.length; i++) {
    for (let j = i + 1; j < docs.length; j++) {
      const a = docs[i], b = docs[j];
      const v: number[][] = [], ar: number[][] = [], ea: number[] = [], eb: number[] = [];
      for (const [k, t] of frameTimes.entries()) {
        if (!keepFrame(k)) continue;
        const x = traceValueAt(a, t), y = traceValueAt(b, t);
        if (x.valence !== null && y.valence !== null) v.push([x.valence, y.valence]);
        if (x.arousal !== null && y.arousal !== null) ar.push([x.arousal, y.arousal]);
        const sa = segmentAt(a, t), sb = segmentAt(b, t);
        if (sa !== null && sb !== null) ea.push(sa), eb.push(sb);
      }
      pairs.push({
        a: a.annotator, b: b.annotator,
        cccValence: v.length > 1 ? orNull(ccc(v.map((p) => p[0]), v.map((p) => p[1]))) : null,
        cccArousal: ar.length > 1 ? orNull(ccc(ar.map((p) => p[0]), ar.map((p) => p[1]))) : null,
        iccValence: v.length > 1 ? orNull(icc31(v)) : null,
        iccArousal: ar.length > 1 ? orNull(icc31(ar)) : null,
        expressionF1: ea.length ? macroF1(eb, ea, EXPRESSIONS.length).mean : null,
      });
    }
  }
  const report: AgreementReport = { annotators: docs.map((d) => d.annotator), pairs };
  if (filterReport) report.poseFilter = filterReport;
  if (run && face) {
    report.model = {
      runId: run.runId,
      versus: docs.map((d) => {
        const pv: number[] = [], lv: number[] = [], pa: number[] = [], la: number[] = [], pe: number[] = [], le: number[] = [];
        const auP = AUS.map(() => [] as number[]), auL = AUS.map(() => [] as number[]);
        face.times.forEach((t, i) => {
          if (!keepRow(i)) return;
          const h = traceValueAt(d, t);
          if (h.valence !== null && face.valence[i] !== null) pv.push(face.valence[i] as number), lv.push(h.valence);
          if (h.arousal !== null && face.arousal[i] !== null) pa.push(face.arousal[i] as number), la.push(h.arousal);
          const s = segmentAt(d, t);
          if (s !== null && face.expression) {
            let best = 0;
            for (let c = 1; c < 8; c++) if (face.expression[i * 8 + c] > face.expression[i * 8 + best]) best = c;
            pe.push(best), le.push(s);
          }
          const au = auAt(d, t);
          if (au && face.au) {
            for (let j = 0; j < AUS.length; j++) {
              auP[j].push(face.au[i * 12 + j]);
              auL[j].push(au[j]);
            }
          }
        });
        const auScores = AUS.map((_, j) => (auL[j].length ? auF1(auP[j], auL[j], run.auThresholds[j]) : NaN)).filter(Number.isFinite);
        return {
          annotator: d.annotator,
          cccValence: pv.length > 1 ? orNull(ccc(pv, lv)) : null,
          cccArousal: pa.length > 1 ? orNull(ccc(pa, la)) : null,
          expressionF1: pe.length ? macroF1(pe, le, EXPRESSIONS.length).mean : null,
          auF1: auScores.length ? auScores.reduce((x, y) => x + y, 0) / auScores.length : null,
        };
      }),
    };
  }
  return report;
}
