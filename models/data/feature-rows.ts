/**
 * Per-frame feature rows read on demand from features files (`<video>.npy`, float32 [N, D], row
 * k−1 = frame k), so neither `predict` nor training holds a long video's feature matrix in memory.
 * One reader for both, and one scan that says which rows show a face (models/temporal/sequences.ts).
 */
import { rowHasFace, type FaceRowRef } from '../temporal/sequences.js';
import { readNpyRows, rowBuffer, type NpyInfo } from './npy.js';

export interface FeatureRows {
  readonly length: number;
  readonly dim: number;
  /**
   * Rows [start, start + count) as a row-major count × dim array the caller may change: a fresh
   * one, or a view of `into` where given and long enough (a long pass reuses one buffer).
   */
  read(start: number, count: number, into?: Float32Array): Float32Array;
}

/** A features file and the column blocks ([offset, width]) taken from it; all columns when absent. */
export interface FeatureFile {
  file: string;
  info: NpyInfo;
  columns?: [offset: number, dim: number][];
}

export function rowsInMemory(data: Float32Array, dim: number): FeatureRows {
  return {
    length: data.length / dim,
    dim,
    read(start, count, into) {
      const out = rowBuffer(count * dim, into);
      out.set(data.subarray(start * dim, (start + count) * dim));
      return out;
    },
  };
}

/**
 * The rows `rows` (file row indices, ascending) of one or more features files, their column blocks
 * concatenated in order. Rows in between (other faces, frames without one) are read past and skipped.
 */
export function rowsFromFiles(files: FeatureFile[], rows: number[]): FeatureRows {
  const blocks = files.map((f) => ({ ...f, columns: f.columns ?? [[0, f.info.cols] as [number, number]] }));
  const dim = blocks.reduce((a, b) => a + b.columns.reduce((s, [, d]) => s + d, 0), 0);
  let spanBuffer = new Float32Array(0); // the file rows of one read, reused from read to read
  return {
    length: rows.length,
    dim,
    read(start, count, into) {
      const out = rowBuffer(count * dim, into);
      if (count <= 0) return out;
      const first = rows[start];
      const last = rows[start + count - 1];
      let offset = 0;
      for (const b of blocks) {
        const need = (last - first + 1) * b.info.cols;
        if (spanBuffer.length < need) spanBuffer = new Float32Array(need);
        const span = readNpyRows(b.file, b.info, first, last - first + 1, spanBuffer);
        for (let i = 0; i < count; i++) {
          const src = (rows[start + i] - first) * b.info.cols;
          let o = i * dim + offset;
          for (const [c, d] of b.columns) {
            out.set(span.subarray(src + c, src + c + d), o);
            o += d;
          }
        }
        offset += b.columns.reduce((s, [, d]) => s + d, 0);
      }
      return out;
    },
  };
}

/** What a scan of features files saw in the rows without a face. */
export interface FeatureRowReport {
  noFace: number;
  /** Rows with some (not all) NaN, or any ±Inf: not a valid "no face" row, and not usable either. */
  nonFinite: number;
  first?: { frame: number; column: number; value: number };
}

/**
 * Every row of a features file (the first `rows` rows of several, read side by side) as a frame:
 * frame k+1 for row k, with face 0 where every value of the row is finite and none elsewhere.
 * `report` counts the rows without a face, telling the documented all-NaN rows from rows with
 * stray NaN/Inf values. Streams: the files are read a chunk of rows at a time.
 */
export function* scanFaceRows(files: FeatureFile[], rows = Math.min(...files.map((f) => f.info.rows)), report?: FeatureRowReport): Generator<FaceRowRef> {
  const CHUNK = 1024;
  const buffers = files.map((f) => new Float32Array(CHUNK * f.info.cols)); // one per file, reused chunk after chunk
  for (let start = 0; start < rows; start += CHUNK) {
    const n = Math.min(CHUNK, rows - start);
    const out: FaceRowRef[] = Array.from({ length: n }, (_, r) => ({ frame: start + r + 1, faceId: 0 }));
    for (const [k, f] of files.entries()) {
      const chunk = readNpyRows(f.file, f.info, start, n, buffers[k]);
      for (let r = 0; r < n; r++) {
        const row = chunk.subarray(r * f.info.cols, (r + 1) * f.info.cols);
        if (rowHasFace(row)) continue;
        if (report && out[r].faceId !== undefined) {
          if (row.every(Number.isNaN)) report.noFace++;
          else {
            report.nonFinite++;
            const bad = row.findIndex((x) => !Number.isFinite(x));
            report.first ??= { frame: start + r + 1, column: bad, value: row[bad] };
          }
        }
        out[r].faceId = undefined;
      }
    }
    yield* out;
  }
}

/** scanFaceRows, all rows at once (training's frame grid). */
export function faceRowsOfFiles(files: FeatureFile[], rows = Math.min(...files.map((f) => f.info.rows)), report?: FeatureRowReport): FaceRowRef[] {
  return [...scanFaceRows(files, rows, report)];
}

/** The warning for rows with stray NaN/Inf, naming the first one; undefined when there are none. */
export function nonFiniteWarning(report: FeatureRowReport): string | undefined {
  if (!report.nonFinite || !report.first) return undefined;
  const f = report.first;
  return `${report.nonFinite} frame(s) have NaN/Inf among finite features (first: frame ${f.frame}, column ${f.column} = ${f.value}); they are predicted as frames without a face — check the features`;
}
