/**
 * Prediction CSVs: the native format and the dialects other tools read (docs/predict.md).
 * Each file is written whole and atomically: after a crash there is the old file or the new one.
 */
import { stringify } from 'csv-stringify/sync';
import { AUS, EXPRESSIONS, topExpression } from '../../../common/labels.js';
import { writeFileAtomic } from '../../../common/node/storage.js';
import type { PredictionRow } from '../predict/predictor.js';
import { ABAW_HEADER, NATIVE_COLUMNS, OPENFACE_COLUMNS } from './columns.js';

export const PREDICTION_FORMATS = ['native', 'openface', 'abaw'] as const;
export type PredictionFormat = (typeof PREDICTION_FORMATS)[number];

const num = (v: number | undefined, digits = 4): string => (v === undefined ? '' : v.toFixed(digits));
const hasPrediction = (r: PredictionRow): boolean => r.faceId !== undefined && (r.valence !== undefined || r.expression !== undefined || r.au !== undefined);

export function nativeCsv(rows: PredictionRow[]): string {
  const body = rows.map((r) => {
    const ok = hasPrediction(r);
    const exprName = ok && r.expression ? EXPRESSIONS[topExpression(r.expression)] : '';
    return [
      String(r.frame), r.timestamp.toFixed(6), r.faceId === undefined ? '' : String(r.faceId), num(r.faceScore), ok ? '1' : '0',
      ok ? num(r.valence) : '', ok ? num(r.arousal) : '', exprName,
      ...EXPRESSIONS.map((_, i) => (ok && r.expression ? num(r.expression[i]) : '')),
      ...AUS.map((_, i) => (ok && r.au ? num(r.au[i]) : '')),
    ];
  });
  return stringify([[...NATIVE_COLUMNS], ...body]);
}

/**
 * OpenFace 2.x column names. AUxx_r holds the AU probability (0–1; OpenFace's own _r is an
 * intensity 0–5), AUxx_c presence at the bundle's threshold. Frames without a face get
 * success 0 and zeros, as OpenFace writes them.
 */
export function openFaceCsv(rows: PredictionRow[], thresholds: number[]): string {
  const body = rows.map((r) => {
    const ok = hasPrediction(r) && r.au !== undefined;
    return [
      String(r.frame), String(r.faceId ?? 0), r.timestamp.toFixed(3), num(ok ? r.faceScore : 0, 2), ok ? '1' : '0',
      ...AUS.map((_, i) => (ok ? num((r.au as Float32Array)[i], 2) : '0.00')),
      ...AUS.map((_, i) => (ok && (r.au as Float32Array)[i] >= thresholds[i] ? '1.00' : '0.00')),
    ];
  });
  return stringify([OPENFACE_COLUMNS, ...body]);
}

/**
 * The ABAW multi-task challenge layout: `<video>/<frame:05d>.jpg,V,A,expression index,12 AU 0/1`.
 * One face per video (the challenge crops one person per video): the face seen in most frames.
 * Every frame gets a row (the challenge scores every frame). The rule for frames without that face
 * (docs/predict.md): a frame where it is missing repeats the nearest frame's prediction; a video
 * where no face was found at all gets the placeholder row V 0, A 0, Neutral, no AU for every
 * frame. Both are said in `warnings`, so no placeholder passes for a prediction unnoticed.
 */
export function abawRows(video: string, rows: PredictionRow[], thresholds: number[]): { lines: string[]; warnings: string[] } {
  const counts = new Map<number, number>();
  for (const r of rows) if (hasPrediction(r)) counts.set(r.faceId as number, (counts.get(r.faceId as number) ?? 0) + 1);
  const main = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
  const frames = [...new Set(rows.map((r) => r.frame))].sort((a, b) => a - b);
  const byFrame = new Map(rows.filter((r) => main !== undefined && r.faceId === main && hasPrediction(r)).map((r) => [r.frame, r]));
  const known = [...byFrame.keys()].sort((a, b) => a - b);
  const warnings: string[] = [];
  if (!known.length && frames.length) {
    warnings.push(`ABAW output: no face in any of the ${frames.length} frames; every row is the placeholder V 0, A 0, Neutral, no AU (not a prediction)`);
  } else if (known.length < frames.length) {
    warnings.push(`ABAW output: face ${main} is missing in ${frames.length - known.length} of ${frames.length} frames; those rows repeat the nearest frame's prediction`);
  }
  if (counts.size > 1) warnings.push(`ABAW output: ${counts.size} faces seen; only face ${main} (in the most frames) is written`);
  let j = 0;
  const lines = frames.map((frame) => {
    while (j + 1 < known.length && Math.abs(known[j + 1] - frame) <= Math.abs(known[j] - frame)) j++;
    const r = known.length ? byFrame.get(known[j]) : undefined;
    const image = `${video}/${String(frame).padStart(5, '0')}.jpg`;
    if (!r) return `${image},0,0,0,${AUS.map(() => '0').join(',')}`;
    const expr = r.expression ? topExpression(r.expression) : 0;
    const aus = AUS.map((_, i) => (r.au && r.au[i] >= thresholds[i] ? '1' : '0'));
    return `${image},${num(r.valence ?? 0)},${num(r.arousal ?? 0)},${expr},${aus.join(',')}`;
  });
  return { lines, warnings };
}

export function abawFile(lines: string[]): string {
  return `${ABAW_HEADER}\n${lines.join('\n')}${lines.length ? '\n' : ''}`;
}

/** File name of a video's predictions in a format. */
export function predictionFileName(stem: string, format: PredictionFormat): string {
  return format === 'native' ? `${stem}.csv` : format === 'openface' ? `${stem}.openface.csv` : `${stem}.abaw.txt`;
}

/** Writes a video's predictions; returns what the format had to make up (see abawRows). */
export function writePredictions(file: string, format: PredictionFormat, video: string, rows: PredictionRow[], thresholds: number[]): string[] {
  if (format !== 'abaw') {
    writeFileAtomic(file, format === 'native' ? nativeCsv(rows) : openFaceCsv(rows, thresholds));
    return [];
  }
  const { lines, warnings } = abawRows(video, rows, thresholds);
  writeFileAtomic(file, abawFile(lines));
  return warnings;
}
