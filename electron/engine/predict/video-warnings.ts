/**
 * What a user should know about a video that finished although it is "done": it may hold no face
 * at all, or a face in only a few of its frames (the predictions then cover little of it). Decoder
 * warnings (a truncated file decoding fewer frames than it lists) come from the decoder itself.
 */

/** A finished video with a face in fewer than this share of its processed frames is flagged. */
export const FACE_FRAMES_WARNING_BELOW = 0.5;

export function faceWarnings(table: { frames: number; faceFrames: number }): string[] {
  const { frames, faceFrames } = table;
  if (!frames) return [];
  if (!faceFrames) return [`no face found in any of the ${frames} frames: there are no predictions for this video`];
  const share = faceFrames / frames;
  if (share >= FACE_FRAMES_WARNING_BELOW) return [];
  return [`a face in only ${(100 * share).toFixed(share < 0.1 ? 1 : 0)} % of the frames (${faceFrames} of ${frames}): the predictions cover little of the video`];
}
