/**
 * Scores predictions against ABAW labels the way the challenge does: over all valid frames of all
 * videos together, each task masked to the frames where its label is valid.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { AUS, EXPRESSIONS, type Task } from '../../../common/labels.js';
import { Evaluator } from '../../../common/evaluation.js';
import type { FrameLabel, LabelSet } from '../../../models/data/abaw-labels.js';
import { NATIVE_COLUMNS } from '../export/columns.js';
import { UserError } from '../../../common/errors.js';

export interface PredictedFrame {
  valence?: number;
  arousal?: number;
  expression?: Float32Array;
  au?: Float32Array;
}

export type PredictionSet = Map<string, Map<number, PredictedFrame>>;

const NATIVE_HEAD = NATIVE_COLUMNS.slice(0, 5).join(',');

/**
 * Our native CSVs: one file, or a folder of `<video>.csv`. A video with several faces is scored on
 * the face seen in most frames, unless `faceId` says which.
 */
export function readNativePredictions(target: string, faceId?: number): PredictionSet {
  const files = statSync(target).isDirectory()
    ? readdirSync(target).filter((n) => n.endsWith('.csv') && !n.endsWith('.openface.csv')).map((n) => path.join(target, n))
    : [target];
  const set: PredictionSet = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    if (!text.startsWith(NATIVE_HEAD)) {
      if (files.length === 1) throw new UserError(`is not a prediction CSV of affect-studio (header should start "${NATIVE_HEAD}")`, 'pass the native CSVs written by `affect-studio predict`', file);
      continue;
    }
    // a renamed or dropped column would read as "no prediction" everywhere: name it instead
    const header = text.slice(0, text.search(/\r?\n|$/)).split(',').map((h) => h.trim());
    const absent = NATIVE_COLUMNS.filter((c) => !header.includes(c));
    if (absent.length) {
      throw new UserError(`column${absent.length > 1 ? 's' : ''} ${absent.map((c) => `"${c}"`).join(', ')} missing from the header`, `the header must be exactly: ${NATIVE_COLUMNS.join(',')}`, file);
    }
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    const ok = rows.filter((r) => r.success === '1');
    const counts = new Map<string, number>();
    for (const r of ok) counts.set(r.face_id, (counts.get(r.face_id) ?? 0) + 1);
    const face = faceId !== undefined ? String(faceId) : [...counts.entries()].sort((a, b) => b[1] - a[1] || Number(a[0]) - Number(b[0]))[0]?.[0];
    const frames = new Map<number, PredictedFrame>();
    for (const r of ok) {
      if (r.face_id !== face) continue;
      frames.set(Number(r.frame), {
        valence: r.valence === '' ? undefined : Number(r.valence),
        arousal: r.arousal === '' ? undefined : Number(r.arousal),
        expression: r.Neutral === '' ? undefined : Float32Array.from(EXPRESSIONS, (e) => Number(r[e])),
        au: r.AU1 === '' ? undefined : Float32Array.from(AUS, (a) => Number(r[a])),
      });
    }
    set.set(path.basename(file, '.csv'), frames);
  }
  return set;
}

export interface EvalReport {
  videos: number;
  labelledFrames: number;
  missing: { count: number; first: { video: string; frame: number }[] };
  /** The first labelled frame whose prediction is NaN or infinite, and in which column. */
  firstNonFinite?: { video: string; frame: number; column: string };
  /** The first labelled frame whose row has no value for a labelled task, and which column. */
  firstUnpredicted?: { video: string; frame: number; column: string };
  /** Tasks with labels: those P_MTL adds up (the rule: common/evaluation.ts). */
  scored: Task[];
  frames: Record<Task, number>;
  nonFinite: Record<Task, number>;
  unpredicted: Record<Task, number>;
  cccValence: number;
  cccArousal: number;
  f1Expression: number;
  f1ExpressionPerClass: Record<string, number>;
  f1Au: number;
  f1AuPerAu: Record<string, number>;
  f1AuTuned: number;
  tunedThresholds: Record<string, number>;
  pMtl: number;
  pMtlTunedAu: number;
}

/** Scores a prediction set against a label set with the one evaluator (frames matched by video and number). */
export function evaluate(labels: LabelSet, preds: PredictionSet): EvalReport {
  const evaluator = new Evaluator();
  const missing: { video: string; frame: number }[] = [];
  let firstNonFinite: EvalReport['firstNonFinite'];
  let firstUnpredicted: EvalReport['firstUnpredicted'];
  let labelled = 0;
  for (const [video, frames] of labels) {
    const p = preds.get(video);
    for (const [frame, l] of frames) {
      const hasLabel = l.valence !== undefined || l.arousal !== undefined || l.expression !== undefined || l.au !== undefined;
      if (!hasLabel) continue;
      labelled++;
      const q = p?.get(frame);
      if (!q) {
        missing.push({ video, frame });
        continue;
      }
      const problem = columnProblem(q, l);
      if (problem?.kind === 'nonFinite') firstNonFinite ??= { video, frame, column: problem.column };
      if (problem?.kind === 'unpredicted') firstUnpredicted ??= { video, frame, column: problem.column };
      evaluator.add(q, l);
    }
  }
  const s = evaluator.scores();
  const byName = (names: readonly string[], values: number[]) => Object.fromEntries(names.map((n, i) => [n, values[i]]));
  return {
    videos: labels.size,
    labelledFrames: labelled,
    missing: { count: missing.length, first: missing.slice(0, 20) },
    ...(firstNonFinite ? { firstNonFinite } : {}),
    ...(firstUnpredicted ? { firstUnpredicted } : {}),
    scored: s.scored, frames: s.frames, nonFinite: s.nonFinite, unpredicted: s.unpredicted,
    cccValence: s.cccValence,
    cccArousal: s.cccArousal,
    f1Expression: s.f1Expression,
    f1ExpressionPerClass: byName(EXPRESSIONS, s.f1ExpressionPerClass),
    f1Au: s.f1Au,
    f1AuPerAu: byName(AUS, s.f1AuPerAu),
    f1AuTuned: s.f1AuTuned,
    tunedThresholds: byName(AUS, s.tunedThresholds),
    pMtl: s.pMtl,
    pMtlTunedAu: s.pMtlTunedAu,
  };
}

/** The first column of a labelled task whose prediction is absent or not a finite number. */
function columnProblem(q: PredictedFrame, l: FrameLabel): { kind: 'nonFinite' | 'unpredicted'; column: string } | undefined {
  const check = (column: string, v: number | undefined) => (v === undefined ? { kind: 'unpredicted' as const, column } : Number.isFinite(v) ? undefined : { kind: 'nonFinite' as const, column });
  for (const task of ['valence', 'arousal'] as const) {
    if (l[task] !== undefined) {
      const p = check(task, q[task]);
      if (p) return p;
    }
  }
  if (l.expression !== undefined && l.expression >= 0) {
    if (!q.expression) return { kind: 'unpredicted', column: EXPRESSIONS[0] };
    for (let i = 0; i < EXPRESSIONS.length; i++) if (!Number.isFinite(q.expression[i])) return { kind: 'nonFinite', column: EXPRESSIONS[i] };
  }
  if (l.au && Array.prototype.some.call(l.au, (x: number) => x === 0 || x === 1)) {
    if (!q.au) return { kind: 'unpredicted', column: AUS[0] };
    for (let j = 0; j < AUS.length; j++) if ((l.au[j] === 0 || l.au[j] === 1) && !Number.isFinite(q.au[j])) return { kind: 'nonFinite', column: AUS[j] };
  }
  return undefined;
}
