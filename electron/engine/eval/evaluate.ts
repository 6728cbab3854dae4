/**
 * Scores predictions against ABAW labels the way the challenge does: over all valid frames of all
 * videos together, each task masked to the frames where its label is valid.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { AUS, EXPRESSIONS, topExpression } from '../../../common/labels.js';
import type { LabelSet } from '../../../models/data/abaw-labels.js';
import { NATIVE_COLUMNS } from '../export/columns.js';
import { UserError } from '../../../common/errors.js';
import { auF1, ccc, macroF1, pMtl, tuneThreshold } from '../../../common/metrics.js';

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
  frames: { valence: number; arousal: number; expression: number; au: number };
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

export function evaluate(labels: LabelSet, preds: PredictionSet): EvalReport {
  const v: [number[], number[]] = [[], []];
  const a: [number[], number[]] = [[], []];
  const e: [number[], number[]] = [[], []];
  const au = AUS.map(() => [[], []] as [number[], number[]]);
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
      if (l.valence !== undefined && q.valence !== undefined) v[0].push(q.valence), v[1].push(l.valence);
      if (l.arousal !== undefined && q.arousal !== undefined) a[0].push(q.arousal), a[1].push(l.arousal);
      if (l.expression !== undefined && q.expression) e[0].push(topExpression(q.expression)), e[1].push(l.expression);
      if (l.au && q.au) {
        AUS.forEach((_, j) => {
          const lab = (l.au as Int8Array)[j];
          if (lab !== -1) au[j][0].push((q.au as Float32Array)[j]), au[j][1].push(lab);
        });
      }
    }
  }
  const cccV = v[0].length ? ccc(v[0], v[1]) : NaN;
  const cccA = a[0].length ? ccc(a[0], a[1]) : NaN;
  const expr = e[0].length ? macroF1(e[0], e[1], EXPRESSIONS.length) : { mean: NaN, perClass: EXPRESSIONS.map(() => NaN) };
  const auScores = au.map(([p, l]) => (l.length ? auF1(p, l, 0.5) : NaN));
  const tuned = au.map(([p, l]) => (l.length ? tuneThreshold(p, l) : { threshold: 0.5, f1: NaN }));
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const f1Au = mean(auScores);
  const f1AuTuned = mean(tuned.map((t) => t.f1));
  return {
    videos: labels.size,
    labelledFrames: labelled,
    missing: { count: missing.length, first: missing.slice(0, 20) },
    frames: { valence: v[0].length, arousal: a[0].length, expression: e[0].length, au: au[0][0].length },
    cccValence: cccV,
    cccArousal: cccA,
    f1Expression: expr.mean,
    f1ExpressionPerClass: Object.fromEntries(EXPRESSIONS.map((c, i) => [c, expr.perClass[i]])),
    f1Au,
    f1AuPerAu: Object.fromEntries(AUS.map((x, i) => [x, auScores[i]])),
    f1AuTuned,
    tunedThresholds: Object.fromEntries(AUS.map((x, i) => [x, tuned[i].threshold])),
    pMtl: pMtl(cccV, cccA, expr.mean, f1Au),
    pMtlTunedAu: pMtl(cccV, cccA, expr.mean, f1AuTuned),
  };
}
