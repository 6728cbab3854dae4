/**
 * `<video>.faces.csv`: one row per face per processed frame, and one row with empty face fields for
 * a processed frame without a face, so every processed frame is accounted for. Rows of the
 * matching `.features.npy` line up with these rows one to one.
 */
import { closeSync, createReadStream, openSync, readFileSync } from 'node:fs';
import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { Point } from '../face/geometry.js';
import { writeAll } from '../../../common/node/storage.js';

export const FACES_COLUMNS = [
  'frame', 'timestamp', 'face_id', 'x', 'y', 'w', 'h', 'score',
  'left_eye_x', 'left_eye_y', 'right_eye_x', 'right_eye_y', 'nose_x', 'nose_y',
  'mouth_left_x', 'mouth_left_y', 'mouth_right_x', 'mouth_right_y', 'roll',
] as const;

export interface FaceRow {
  frame: number;
  timestamp: number;
  /** Absent when the frame has no face. */
  face?: {
    faceId: number;
    box: { x: number; y: number; w: number; h: number };
    score: number;
    keypoints: Point[];
    /** Radians. */
    roll: number;
  };
}

const px = (v: number): string => v.toFixed(2);

export function formatFaceRow(row: FaceRow): string[] {
  const head = [String(row.frame), row.timestamp.toFixed(6)];
  const f = row.face;
  if (!f) return [...head, ...Array(FACES_COLUMNS.length - 2).fill('')];
  return [
    ...head, String(f.faceId), px(f.box.x), px(f.box.y), px(f.box.w), px(f.box.h), f.score.toFixed(4),
    ...f.keypoints.flatMap(([x, y]) => [px(x), px(y)]),
    ((f.roll * 180) / Math.PI).toFixed(2),
  ];
}

export class FacesCsvWriter {
  private readonly fd: number;
  private buffer: string[] = [];
  private closed = false;
  rows = 0;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'w');
    writeAll(this.fd, stringify([[...FACES_COLUMNS]]));
  }

  append(row: FaceRow): void {
    this.buffer.push(stringify([formatFaceRow(row)]));
    this.rows++;
    if (this.buffer.length >= 256) this.flush();
  }

  private flush(): void {
    if (this.buffer.length) writeAll(this.fd, this.buffer.join(''));
    this.buffer = [];
  }

  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.abandon();
    }
  }

  /** Closes without writing what is buffered (the file is about to be deleted); safe to call again. */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** One parsed record of faces.csv (csv-parse with `columns: true`) → a row. */
function toFaceRow(r: Record<string, string>): FaceRow {
  const row: FaceRow = { frame: Number(r.frame), timestamp: Number(r.timestamp) };
  if (r.face_id !== '') {
    row.face = {
      faceId: Number(r.face_id),
      box: { x: Number(r.x), y: Number(r.y), w: Number(r.w), h: Number(r.h) },
      score: Number(r.score),
      keypoints: [
        [Number(r.left_eye_x), Number(r.left_eye_y)], [Number(r.right_eye_x), Number(r.right_eye_y)], [Number(r.nose_x), Number(r.nose_y)],
        [Number(r.mouth_left_x), Number(r.mouth_left_y)], [Number(r.mouth_right_x), Number(r.mouth_right_y)],
      ],
      roll: (Number(r.roll) * Math.PI) / 180,
    };
  }
  return row;
}

/** Streams the rows of a faces.csv back (the replay of a cached tracking run). */
export async function* readFacesCsv(file: string): AsyncGenerator<FaceRow> {
  const parser = createReadStream(file).pipe(parse({ columns: true }));
  for await (const r of parser as AsyncIterable<Record<string, string>>) yield toFaceRow(r);
}

/** All rows of a faces.csv (its text, or the file). */
export function readFacesTable(file: string | { text: string | Buffer }): FaceRow[] {
  const text = typeof file === 'string' ? readFileSync(file) : file.text;
  return (parseSync(text, { columns: true }) as Record<string, string>[]).map(toFaceRow);
}

/** The face seen in most rows, or undefined when there is none. */
export function mainFaceId(rows: FaceRow[]): number | undefined {
  const counts = new Map<number, number>();
  for (const r of rows) if (r.face) counts.set(r.face.faceId, (counts.get(r.face.faceId) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
}
