/**
 * What a user should know about a video that finished although it is "done": it may hold no face
 * at all, or a face in only a few of its frames (the predictions then cover little of it). Decoder
 * warnings (a truncated file decoding fewer frames than it lists) come from the decoder itself.
 */
import type { PredictionRow } from './predictor.js';

/** A finished video with a face in fewer than this share of its processed frames is flagged. */
export const FACE_FRAMES_WARNING_BELOW = 0.5;

export function faceWarnings(rows: Pick<PredictionRow, 'frame' | 'faceId'>[]): string[] {
  const frames = new Set<number>();
  const withFace = new Set<number>();
  for (const r of rows) {
    frames.add(r.frame);
    if (r.faceId !== undefined) withFace.add(r.frame);
  }
  if (!frames.size) return [];
  if (!withFace.size) return [`no face found in any of the ${frames.size} frames: there are no predictions for this video`];
  const share = withFace.size / frames.size;
  if (share >= FACE_FRAMES_WARNING_BELOW) return [];
  return [`a face in only ${(100 * share).toFixed(share < 0.1 ? 1 : 0)} % of the frames (${withFace.size} of ${frames.size}): the predictions cover little of the video`];
}
