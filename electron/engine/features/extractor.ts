/**
 * What every per-frame feature extractor provides. An extractor turns each face of a frame into a
 * fixed-length vector; the pipeline concatenates the vectors of all chosen extractors, in the order
 * the user gave, and caches each extractor's output on its own.
 */
import type { TrackedFace } from '../face/tracker.js';
import type { Frame } from '../video/decode.js';
import type { Roi } from '../face/geometry.js';
import type { Point } from '../face/geometry.js';

/** The part of a tracked face extractors may use (also what the geometry cache replays). */
export type FaceGeometry = Pick<TrackedFace, 'roi' | 'keypoints' | 'landmarks' | 'roll'>;

export interface FeatureExtractor {
  /** Stable id, used in cache keys and column names. */
  readonly id: string;
  /** Bump when outputs change (new weights, new preprocessing): cached features of older versions are not reused. */
  readonly version: string;
  /**
   * A cheaper computation of the same features ('int8'): cached apart, and accepted where this
   * version is asked for (a bundle trained on the float features runs on them, with the documented deviation).
   */
  readonly variant?: string;
  readonly dim: number;
  /** One name per output dimension. */
  readonly columns: string[];
  readonly description: string;
  /** Execution provider the extractor's model runs on (undefined when it runs no model). */
  readonly provider?: string;
  run(frame: Frame, faces: FaceGeometry[]): Promise<Float32Array[]>;
  /**
   * The faces of several frames at once (one model call for all of them where the model takes
   * batches): the same vectors as `run` on each frame, per frame in order.
   */
  runFrames?(items: FrameFaces[]): Promise<Float32Array[][]>;
}

export interface FrameFaces {
  frame: Frame;
  faces: FaceGeometry[];
}

/** The faces of several frames through any extractor: its batched path, or one frame at a time. */
export async function runFrames(e: FeatureExtractor, items: FrameFaces[]): Promise<Float32Array[][]> {
  if (e.runFrames) return e.runFrames(items);
  const out: Float32Array[][] = [];
  for (const { frame, faces } of items) out.push(await e.run(frame, faces));
  return out;
}

/** Splits vectors made for all faces of several frames back into one list per frame. */
export function perFrame<T>(items: FrameFaces[], flat: T[]): T[][] {
  const out: T[][] = [];
  let k = 0;
  for (const { faces } of items) {
    out.push(flat.slice(k, k + faces.length));
    k += faces.length;
  }
  return out;
}

/** Crop framings shared by the built-in and the user's image extractors. */
export type CropSpec = { alignment: 'box'; scale: number } | { alignment: 'fivepoint' };

export type { Roi, Point };
