/**
 * Prediction CSVs: the native format and the dialects other tools read (docs/predict.md).
 * Each file is written whole and atomically: after a crash there is the old file or the new one.
 */
import { stringify } from 'csv-stringify/sync';
import { AUS, EXPRESSIONS, topExpression } from '../../../common/labels.js';
import { writeFileAtomic } from '../../../common/node/storage.js';
import type { PredictionRow } from '../predict/predictor.js';
import { ABAW_HEADER, NATIVE_COLUMNS, OPENFACE_COLUMNS, OPENFACE_GAZE_COLUMNS, OPENFACE_POSE_COLUMNS, PYFEAT_COLUMNS, PYFEAT_EMOTIONS } from './columns.js';

export const PREDICTION_FORMATS = ['native', 'openface', 'abaw', 'pyfeat'] as const;
export type PredictionFormat = (typeof PREDICTION_FORMATS)[number];

const num = (v: number | undefined, digits = 4): string => (v === undefined ? '' : v.toFixed(digits));
const hasPrediction = (r: PredictionRow): boolean => r.faceId !== undefined && (r.valence !== undefined || r.expression !== undefined || r.au !== undefined);
const DEG = 180 / Math.PI;

// Positions in the pose and gaze vectors (OpenFace's order, electron/engine/export/columns.ts).
const RX = OPENFACE_POSE_COLUMNS.indexOf('pose_Rx');
const RY = OPENFACE_POSE_COLUMNS.indexOf('pose_Ry');
const RZ = OPENFACE_POSE_COLUMNS.indexOf('pose_Rz');
const GX = OPENFACE_GAZE_COLUMNS.indexOf('gaze_angle_x');
const GY = OPENFACE_GAZE_COLUMNS.indexOf('gaze_angle_y');

/** Head pitch, yaw, roll in degrees (OpenFace's Rx, Ry, Rz); undefined without a pose. */
export const poseDegrees = (r: Pick<PredictionRow, 'pose'>): [number, number, number] | undefined =>
  r.pose ? [r.pose[RX] * DEG, r.pose[RY] * DEG, r.pose[RZ] * DEG] : undefined;
/** Gaze angles x, y in degrees (OpenFace's gaze_angle_x, gaze_angle_y); undefined without gaze. */
export const gazeDegrees = (r: Pick<PredictionRow, 'gaze'>): [number, number] | undefined =>
  r.gaze ? [r.gaze[GX] * DEG, r.gaze[GY] * DEG] : undefined;

/** Pose and gaze cells: empty when the row has no face or no estimate (never zeros: 0 is a real angle). */
const cells = (values: ArrayLike<number> | undefined, n: number, digits: number): string[] =>
  values ? Array.from(values, (v) => v.toFixed(digits)) : Array(n).fill('');

export function nativeCsv(rows: PredictionRow[]): string {
  const body = rows.map((r) => {
    const ok = hasPrediction(r);
    const exprName = ok && r.expression ? EXPRESSIONS[topExpression(r.expression)] : '';
    const face = r.faceId !== undefined;
    return [
      String(r.frame), r.timestamp.toFixed(6), face ? String(r.faceId) : '', num(r.faceScore), ok ? '1' : '0',
      ok ? num(r.valence) : '', ok ? num(r.arousal) : '', exprName,
      ...EXPRESSIONS.map((_, i) => (ok && r.expression ? num(r.expression[i]) : '')),
      ...AUS.map((_, i) => (ok && r.au ? num(r.au[i]) : '')),
      ...cells(face ? poseDegrees(r) : undefined, 3, 2),
      ...cells(face ? gazeDegrees(r) : undefined, 2, 2),
    ];
  });
  return stringify([[...NATIVE_COLUMNS], ...body]);
}

/**
 * OpenFace 2.x column names. AUxx_r holds the AU probability (0–1; OpenFace's own _r is an
 * intensity 0–5), AUxx_c presence at the bundle's threshold. Frames without a face get success 0,
 * zeros in the AU columns (as OpenFace writes them) and empty pose and gaze cells.
 */
export function openFaceCsv(rows: PredictionRow[], thresholds: number[]): string {
  const body = rows.map((r) => {
    const ok = hasPrediction(r) && r.au !== undefined;
    const face = r.faceId !== undefined;
    return [
      String(r.frame), String(r.faceId ?? 0), r.timestamp.toFixed(3), num(ok ? r.faceScore : 0, 2), ok ? '1' : '0',
      ...cells(face ? r.gaze : undefined, OPENFACE_GAZE_COLUMNS.length, 6),
      ...(face && r.pose ? [...Array.from(r.pose.subarray(0, 3), (v) => v.toFixed(1)), ...Array.from(r.pose.subarray(3), (v) => v.toFixed(3))] : cells(undefined, OPENFACE_POSE_COLUMNS.length, 0)),
      ...AUS.map((_, i) => (ok ? num((r.au as Float32Array)[i], 2) : '0.00')),
      ...AUS.map((_, i) => (ok && (r.au as Float32Array)[i] >= thresholds[i] ? '1.00' : '0.00')),
    ];
  });
  return stringify([OPENFACE_COLUMNS, ...body]);
}

/**
 * Py-Feat's `Fex` layout: `frame` counts from 0 as Py-Feat numbers video frames; the face box in
 * video pixels; AU columns are our AU probabilities (Py-Feat's are probabilities too); Pitch, Roll,
 * Yaw in degrees (OpenFace's signs); emotions are our expression probabilities ("Other" has no
 * column, so a row sums to 1 − P(Other)); `input` is the video file. A frame without a face has one
 * row with empty cells, as Py-Feat leaves NaN.
 */
export function pyFeatCsv(rows: PredictionRow[], input: string): string {
  const body = rows.map((r) => {
    const ok = hasPrediction(r);
    const face = r.faceId !== undefined;
    const pose = face ? poseDegrees(r) : undefined;
    const box = face ? r.box : undefined;
    return [
      String(r.frame - 1),
      ...(box ? [box.x, box.y, box.w, box.h].map((v) => v.toFixed(2)) : Array(4).fill('')),
      face ? num(r.faceScore) : '',
      ...AUS.map((_, i) => (ok && r.au ? num(r.au[i]) : '')),
      ...(pose ? [pose[0], pose[2], pose[1]].map((v) => v.toFixed(2)) : Array(3).fill('')), // Pitch, Roll, Yaw
      ...PYFEAT_EMOTIONS.map(([, e]) => (ok && r.expression ? num(r.expression[EXPRESSIONS.indexOf(e)]) : '')),
      input, r.timestamp.toFixed(6), face ? String(r.faceId) : '',
    ];
  });
  return stringify([PYFEAT_COLUMNS, ...body]);
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
  return { native: `${stem}.csv`, openface: `${stem}.openface.csv`, abaw: `${stem}.abaw.txt`, pyfeat: `${stem}.pyfeat.csv` }[format];
}

/**
 * Writes a video's predictions; returns what the format had to make up (see abawRows).
 * @param video the video's name (ABAW image paths)
 * @param input the file the predictions came from (Py-Feat's `input` column)
 */
export function writePredictions(file: string, format: PredictionFormat, video: string, rows: PredictionRow[], thresholds: number[], input = video): string[] {
  if (format !== 'abaw') {
    writeFileAtomic(file, format === 'native' ? nativeCsv(rows) : format === 'openface' ? openFaceCsv(rows, thresholds) : pyFeatCsv(rows, input));
    return [];
  }
  const { lines, warnings } = abawRows(video, rows, thresholds);
  writeFileAtomic(file, abawFile(lines));
  return warnings;
}
