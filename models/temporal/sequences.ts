/**
 * The frame grid a temporal model runs over, one rule for `predict` (videos and `--features`),
 * training (features files, aligned images, the app's annotations) and ensemble selection, so a
 * segment covers the same stretch of time wherever the model runs.
 *
 * Rule (docs/predict.md): a sequence is the frames of one face_id, in order. Frames where that face
 * is missing are skipped — the sequence goes on, as ABAW's annotated frames are not contiguous
 * either — unless the face is missing for more than `maxGapFrames` frames (default: one second), in
 * which case a new sequence starts and recurrent models start from a fresh state. In a features file
 * (`<video>.npy`, row k−1 = frame k) a row with a non-finite value is a frame without a face.
 */
export interface FaceRowRef {
  frame: number;
  faceId?: number;
}

export interface TrackSequence {
  faceId: number;
  /** Indices into the rows (faces.csv / features.npy), in frame order. */
  rows: number[];
}

/** Longest absence (seconds) a face track bridges without restarting its sequence, unless told otherwise. */
export const DEFAULT_MAX_GAP_SECONDS = 1;

/** Frame rate assumed for a features file, which carries no timestamps (`--fps` changes it). */
export const DEFAULT_FEATURES_FPS = 30;

/** The longest bridged absence in frames, at a frame rate. */
export const maxGapFrames = (maxGapSeconds: number, fps: number): number => Math.round(maxGapSeconds * fps);

/** A features row shows a face unless one of its values is NaN or infinite. */
export function rowHasFace(row: ArrayLike<number>): boolean {
  for (let i = 0; i < row.length; i++) if (!Number.isFinite(row[i])) return false;
  return true;
}

/**
 * Builds the sequences of a table whose rows arrive one at a time (a long video's faces table is
 * streamed, not held): `add` each row in order, then `finish`.
 */
export class SequenceBuilder {
  private readonly open = new Map<number, { seq: TrackSequence; lastFrame: number }>();
  private readonly done: TrackSequence[] = [];
  private index = 0;

  constructor(private readonly maxGapFrames: number) {}

  add(row: FaceRowRef): void {
    const index = this.index++;
    if (row.faceId === undefined) return;
    const cur = this.open.get(row.faceId);
    if (cur && row.frame - cur.lastFrame - 1 <= this.maxGapFrames) {
      cur.seq.rows.push(index);
      cur.lastFrame = row.frame;
      return;
    }
    if (cur) this.done.push(cur.seq);
    this.open.set(row.faceId, { seq: { faceId: row.faceId, rows: [index] }, lastFrame: row.frame });
  }

  /** The sequences, ordered by their first row. */
  finish(): TrackSequence[] {
    const all = [...this.done, ...[...this.open.values()].map((o) => o.seq)];
    return all.sort((a, b) => a.rows[0] - b.rows[0]);
  }
}

export function buildSequences(rows: FaceRowRef[], maxGapFrames: number): TrackSequence[] {
  const builder = new SequenceBuilder(maxGapFrames);
  for (const row of rows) builder.add(row);
  return builder.finish();
}
