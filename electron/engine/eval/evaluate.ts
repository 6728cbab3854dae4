/**
 * Scores predictions against ABAW labels the way the challenge does: over all valid frames of all
 * videos together, each task masked to the frames where its label is valid.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { AUS, EXPRESSIONS, type Task } from '../../../common/labels.js';
import { Evaluator } from '../../../common/evaluation.js';
import type { LabelSet } from '../../../models/data/abaw-labels.js';
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
      evaluator.add(q, l);
    }
  }
  const s = evaluator.scores();
  const byName = (names: readonly string[], values: number[]) => Object.fromEntries(names.map((n, i) => [n, values[i]]));
  return {
    videos: labels.size,
    labelledFrames: labelled,
    missing: { count: missing.length, first: missing.slice(0, 20) },
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
