/**
 * FaceMesh: 468 3-D landmarks refined on a rotated square crop around the face, mapped back to
 * frame pixels, plus the network's face-presence score (which rejects detector false positives).
 * Also derives the region of interest for the next frame from the landmarks (tracking without
 * re-detection) and the five keypoints used for alignment.
 */
import { openFaceModel } from '../onnx/face-models.js';
import type { ModelSession, SessionFactory } from '../onnx/sessions.js';
import type { Frame } from '../video/decode.js';
import { applyAffine, lineAngle, roiToFrame, type Point, type Roi } from './geometry.js';
import { inputLength, sampleAffine, type InputSpec } from './sample.js';

export const MESH_POINTS = 468;
const SIZE = 192;
const INPUT: InputSpec = { width: SIZE, height: SIZE, channels: 'rgb', layout: 'nhwc', pixelScale: 1 / 255, mean: [0], std: [1] };

/** MediaPipe mesh indices: outer and inner eye corners, nose tip, mouth corners (subject's right first). */
export const MESH_INDEX = {
  rightEyeOuter: 33,
  rightEyeInner: 133,
  leftEyeInner: 362,
  leftEyeOuter: 263,
  noseTip: 1,
  mouthRight: 61,
  mouthLeft: 291,
} as const;

/** Crop side relative to the landmark extent: the framing the mesh network was trained on. */
export const MESH_ROI_SCALE = 1.5;

export interface MeshResult {
  /** 468 × (x, y, z) in frame pixels; z relative to the face centre, same scale as x. */
  landmarks: Float32Array;
  score: number;
}

export class FaceMesh {
  private buffer = new Float32Array(0);

  private constructor(private readonly session: ModelSession) {}

  static async create(factory: SessionFactory): Promise<FaceMesh> {
    return new FaceMesh(await openFaceModel(factory, 'facemesh'));
  }

  async run(frame: Pick<Frame, 'rgb' | 'width' | 'height'>, rois: Roi[]): Promise<MeshResult[]> {
    if (!rois.length) return [];
    const per = inputLength(INPUT);
    if (this.buffer.length < per * rois.length) this.buffer = new Float32Array(per * rois.length);
    const maps = rois.map((roi) => roiToFrame(roi, SIZE));
    maps.forEach((m, i) => sampleAffine(frame.rgb, frame.width, frame.height, m, INPUT, this.buffer, i * per));
    const out = await this.session.run({ input: { data: this.buffer.subarray(0, per * rois.length), dims: [rois.length, SIZE, SIZE, 3] } });
    return rois.map((roi, i) => {
      const raw = out.mesh.data.subarray(i * MESH_POINTS * 3, (i + 1) * MESH_POINTS * 3);
      const landmarks = new Float32Array(MESH_POINTS * 3);
      const zScale = roi.side / SIZE;
      for (let p = 0; p < MESH_POINTS; p++) {
        const [x, y] = applyAffine(maps[i], [raw[3 * p], raw[3 * p + 1]]);
        landmarks[3 * p] = x;
        landmarks[3 * p + 1] = y;
        landmarks[3 * p + 2] = raw[3 * p + 2] * zScale;
      }
      return { landmarks, score: out.face_flag.data[i] };
    });
  }
}

const point = (lm: Float32Array, i: number): Point => [lm[3 * i], lm[3 * i + 1]];
const mid = (a: Point, b: Point): Point => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];

/** Image-left eye centre, image-right eye centre, nose tip, image-left and image-right mouth corner. */
export function fivePoints(lm: Float32Array): Point[] {
  const I = MESH_INDEX;
  return [
    mid(point(lm, I.rightEyeOuter), point(lm, I.rightEyeInner)),
    mid(point(lm, I.leftEyeInner), point(lm, I.leftEyeOuter)),
    point(lm, I.noseTip),
    point(lm, I.mouthRight),
    point(lm, I.mouthLeft),
  ];
}

/** Head roll: angle of the line through the outer eye corners. */
export const rollOf = (lm: Float32Array): number => lineAngle(point(lm, MESH_INDEX.rightEyeOuter), point(lm, MESH_INDEX.leftEyeOuter));

/** Axis-aligned bounding box of the landmarks in frame pixels. */
export function landmarkBox(lm: Float32Array): { x: number; y: number; w: number; h: number } {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let p = 0; p < MESH_POINTS; p++) {
    const x = lm[3 * p], y = lm[3 * p + 1];
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** The upright square around the landmarks (in the face's own rotated frame), enlarged by `scale`. */
export function roiFromLandmarks(lm: Float32Array, scale = MESH_ROI_SCALE): Roi {
  const angle = rollOf(lm);
  const cos = Math.cos(-angle), sin = Math.sin(-angle);
  let u0 = Infinity, v0 = Infinity, u1 = -Infinity, v1 = -Infinity;
  for (let p = 0; p < MESH_POINTS; p++) {
    const x = lm[3 * p], y = lm[3 * p + 1];
    const u = cos * x - sin * y, v = sin * x + cos * y;
    if (u < u0) u0 = u;
    if (u > u1) u1 = u;
    if (v < v0) v0 = v;
    if (v > v1) v1 = v;
  }
  const cu = (u0 + u1) / 2, cv = (v0 + v1) / 2;
  // rotate the centre back into frame coordinates
  const center: Point = [Math.cos(angle) * cu - Math.sin(angle) * cv, Math.sin(angle) * cu + Math.cos(angle) * cv];
  return { center, side: Math.max(u1 - u0, v1 - v0) * scale, angle };
}
