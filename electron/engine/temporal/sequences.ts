/**
 * Face tracks → the sequences a temporal model runs over.
 *
 * Rule (docs/predict.md): a sequence is the frames of one face_id, in order. Frames where that face
 * is missing are skipped — the sequence goes on, as ABAW's annotated frames are not contiguous
 * either — unless the face is missing for more than `maxGapFrames` frames (default: one second), in
 * which case a new sequence starts and recurrent models start from a fresh state.
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

export function buildSequences(rows: FaceRowRef[], maxGapFrames: number): TrackSequence[] {
  const open = new Map<number, { seq: TrackSequence; lastFrame: number }>();
  const done: TrackSequence[] = [];
  rows.forEach((row, index) => {
    if (row.faceId === undefined) return;
    const cur = open.get(row.faceId);
    if (cur && row.frame - cur.lastFrame - 1 <= maxGapFrames) {
      cur.seq.rows.push(index);
      cur.lastFrame = row.frame;
      return;
    }
    if (cur) done.push(cur.seq);
    open.set(row.faceId, { seq: { faceId: row.faceId, rows: [index] }, lastFrame: row.frame });
  });
  for (const { seq } of open.values()) done.push(seq);
  return done.sort((a, b) => a.rows[0] - b.rows[0]);
}
