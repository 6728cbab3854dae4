/**
 * Prediction CSVs: the native format and the dialects other tools read (docs/predict.md).
 * Rows are written as they come (a two-hour video's predictions never sit in memory as text), into
 * a temporary file renamed into place at the end: after a crash there is the old file or the new one.
 */
import { stringify } from 'csv-stringify/sync';
import { AUS, EXPRESSIONS, topExpression } from '../../../common/labels.js';
import { AtomicFileWriter } from '../../../common/node/storage.js';
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

function nativeRow(r: PredictionRow): string[] {
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
}

export function nativeCsv(rows: PredictionRow[]): string {
  return stringify([[...NATIVE_COLUMNS], ...rows.map(nativeRow)]);
}

/**
 * OpenFace 2.x column names. AUxx_r holds the AU probability (0–1; OpenFace's own _r is an
 * intensity 0–5), AUxx_c presence at the bundle's threshold. Frames without a face get success 0,
 * zeros in the AU columns (as OpenFace writes them) and empty pose and gaze cells.
 */
function openFaceRow(r: PredictionRow, thresholds: number[]): string[] {
  const ok = hasPrediction(r) && r.au !== undefined;
  const face = r.faceId !== undefined;
  return [
    String(r.frame), String(r.faceId ?? 0), r.timestamp.toFixed(3), num(ok ? r.faceScore : 0, 2), ok ? '1' : '0',
    ...cells(face ? r.gaze : undefined, OPENFACE_GAZE_COLUMNS.length, 6),
    ...(face && r.pose ? [...Array.from(r.pose.subarray(0, 3), (v) => v.toFixed(1)), ...Array.from(r.pose.subarray(3), (v) => v.toFixed(3))] : cells(undefined, OPENFACE_POSE_COLUMNS.length, 0)),
    ...AUS.map((_, i) => (ok ? num((r.au as Float32Array)[i], 2) : '0.00')),
    ...AUS.map((_, i) => (ok && (r.au as Float32Array)[i] >= thresholds[i] ? '1.00' : '0.00')),
  ];
}

export function openFaceCsv(rows: PredictionRow[], thresholds: number[]): string {
  return stringify([OPENFACE_COLUMNS, ...rows.map((r) => openFaceRow(r, thresholds))]);
}

/**
 * Py-Feat's `Fex` layout: `frame` counts from 0 as Py-Feat numbers video frames; the face box in
 * video pixels; AU columns are our AU probabilities (Py-Feat's are probabilities too); Pitch, Roll,
 * Yaw in degrees (OpenFace's signs); emotions are our expression probabilities ("Other" has no
 * column, so a row sums to 1 − P(Other)); `input` is the video file. A frame without a face has one
 * row with empty cells, as Py-Feat leaves NaN.
 */
function pyFeatRow(r: PredictionRow, input: string): string[] {
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
}

export function pyFeatCsv(rows: PredictionRow[], input: string): string {
  return stringify([PYFEAT_COLUMNS, ...rows.map((r) => pyFeatRow(r, input))]);
}

/** What a first pass over a video's table of face rows found (rows arrive in frame order). */
export interface TableSummary {
  rows: number;
  frames: number;
  /** Frames with at least one face. */
  faceFrames: number;
  faceRows: number;
  /** Face rows per face id. */
  perFace: Map<number, number>;
}

/** The face seen in most rows (the lower id on a tie), or undefined when there is none. */
export function mainFace(perFace: Map<number, number>): number | undefined {
  return [...perFace.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
}

/** A prediction file being written row by row; `finish` renames it into place. */
export interface PredictionWriter {
  /** Before the first row: what the whole table holds (the ABAW layout needs the main face up front). */
  begin(table: TableSummary): void;
  /** Rows in table order: by frame, the faces of a frame together. */
  write(row: PredictionRow): void;
  /** Closes the file; returns what the format had to make up. */
  finish(): string[];
  /** Drops the unfinished file (after a failure). */
  abandon(): void;
}

const CSV_CHUNK_ROWS = 64;

/** Rows formatted and written in chunks through csv-stringify (a chunk's text equals that of stringifying all rows at once). */
class CsvWriter implements PredictionWriter {
  private readonly out: AtomicFileWriter;
  private chunk: string[][] = [];

  constructor(file: string, header: readonly string[], private readonly format: (r: PredictionRow) => string[]) {
    this.out = new AtomicFileWriter(file);
    this.out.write(stringify([[...header]]));
  }

  begin(): void {}

  write(row: PredictionRow): void {
    this.chunk.push(this.format(row));
    // small chunks: rows kept for long reach V8's old generation as garbage (see EMIT_CHUNK in predictor.ts)
    if (this.chunk.length >= CSV_CHUNK_ROWS) this.flush();
  }

  private flush(): void {
    if (this.chunk.length) this.out.write(stringify(this.chunk));
    this.chunk = [];
  }

  finish(): string[] {
    this.flush();
    this.out.close();
    return [];
  }

  abandon(): void {
    this.out.abandon();
  }
}

/**
 * The ABAW multi-task challenge layout: `<video>/<frame:05d>.jpg,V,A,expression index,12 AU 0/1`.
 * One face per video (the challenge crops one person per video): the face seen in most frames.
 * Every frame gets a row (the challenge scores every frame). The rule for frames without that face
 * (docs/predict.md): a frame where it is missing repeats the nearest frame's prediction (the later
 * one on a tie); a video where no face was found at all gets the placeholder row V 0, A 0, Neutral,
 * no AU for every frame. Both are said in the warnings, so no placeholder passes for a prediction
 * unnoticed. Only the frames of a stretch without the face wait for the next frame that has it.
 */
/** V 0, A 0, Neutral, no AU: the row of a frame when the video has no face at all. */
const PLACEHOLDER = `0,0,0,${AUS.map(() => '0').join(',')}`;

class AbawWriter implements PredictionWriter {
  private readonly out: AtomicFileWriter;
  private main: number | undefined;
  private faces = 0;
  private frames = 0;
  private known = 0;
  private frame: number | undefined;
  private frameLine: string | undefined;
  private previous: { frame: number; line: string } | undefined;
  private waiting: number[] = [];
  private closed = false;

  constructor(file: string, private readonly video: string, private readonly thresholds: number[]) {
    this.out = new AtomicFileWriter(file);
    this.out.write(`${ABAW_HEADER}\n`);
  }

  begin(table: TableSummary): void {
    this.main = mainFace(table.perFace);
    this.faces = table.perFace.size;
  }

  private image(frame: number): string {
    return `${this.video}/${String(frame).padStart(5, '0')}.jpg`;
  }

  /** The prediction part of a line: V, A, expression index, AUs at the thresholds. */
  private values(r: PredictionRow): string {
    const expr = r.expression ? topExpression(r.expression) : 0;
    const aus = AUS.map((_, i) => (r.au && r.au[i] >= this.thresholds[i] ? '1' : '0'));
    return `${num(r.valence ?? 0)},${num(r.arousal ?? 0)},${expr},${aus.join(',')}`;
  }

  write(row: PredictionRow): void {
    if (row.frame !== this.frame) this.endFrame();
    this.frame = row.frame;
    if (this.main !== undefined && row.faceId === this.main && hasPrediction(row)) this.frameLine = this.values(row);
  }

  private endFrame(): void {
    if (this.frame === undefined) return;
    const frame = this.frame;
    this.frames++;
    if (this.frameLine === undefined && this.main === undefined) this.out.write(`${this.image(frame)},${PLACEHOLDER}\n`);
    else if (this.frameLine === undefined) this.waiting.push(frame);
    else {
      this.known++;
      // frames waiting since the last one with the face take the nearer of the two (the later on a tie)
      for (const f of this.waiting) {
        const line = this.previous && f - this.previous.frame < frame - f ? this.previous.line : this.frameLine;
        this.out.write(`${this.image(f)},${line}\n`);
      }
      this.waiting = [];
      this.out.write(`${this.image(frame)},${this.frameLine}\n`);
      this.previous = { frame, line: this.frameLine };
    }
    this.frame = undefined;
    this.frameLine = undefined;
  }

  finish(): string[] {
    this.endFrame();
    const fill = this.previous?.line ?? PLACEHOLDER;
    for (const f of this.waiting) this.out.write(`${this.image(f)},${fill}\n`);
    this.waiting = [];
    this.out.close();
    this.closed = true;
    const warnings: string[] = [];
    if (!this.known && this.frames) {
      warnings.push(`ABAW output: no face in any of the ${this.frames} frames; every row is the placeholder V 0, A 0, Neutral, no AU (not a prediction)`);
    } else if (this.known < this.frames) {
      warnings.push(`ABAW output: face ${this.main} is missing in ${this.frames - this.known} of ${this.frames} frames; those rows repeat the nearest frame's prediction`);
    }
    if (this.faces > 1) warnings.push(`ABAW output: ${this.faces} faces seen; only face ${this.main} (in the most frames) is written`);
    return warnings;
  }

  abandon(): void {
    if (!this.closed) this.out.abandon();
  }
}

export function abawFile(lines: string[]): string {
  return `${ABAW_HEADER}\n${lines.join('\n')}${lines.length ? '\n' : ''}`;
}

/** File name of a video's predictions in a format. */
export function predictionFileName(stem: string, format: PredictionFormat): string {
  return { native: `${stem}.csv`, openface: `${stem}.openface.csv`, abaw: `${stem}.abaw.txt`, pyfeat: `${stem}.pyfeat.csv` }[format];
}

/**
 * A writer for a video's predictions.
 * @param video the video's name (ABAW image paths)
 * @param input the file the predictions came from (Py-Feat's `input` column)
 */
export function predictionWriter(file: string, format: PredictionFormat, video: string, thresholds: number[], input = video): PredictionWriter {
  switch (format) {
    case 'native':
      return new CsvWriter(file, NATIVE_COLUMNS, nativeRow);
    case 'openface':
      return new CsvWriter(file, OPENFACE_COLUMNS, (r) => openFaceRow(r, thresholds));
    case 'pyfeat':
      return new CsvWriter(file, PYFEAT_COLUMNS, (r) => pyFeatRow(r, input));
    case 'abaw':
      return new AbawWriter(file, video, thresholds);
  }
}
