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
  readonly dim: number;
  /** One name per output dimension. */
  readonly columns: string[];
  readonly description: string;
  /** Execution provider the extractor's model runs on (undefined when it runs no model). */
  readonly provider?: string;
  run(frame: Frame, faces: FaceGeometry[]): Promise<Float32Array[]>;
}

/** Crop framings shared by the built-in and the user's image extractors. */
export type CropSpec = { alignment: 'box'; scale: number } | { alignment: 'fivepoint' };

export type { Roi, Point };
