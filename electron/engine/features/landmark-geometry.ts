/**
 * Face shape as a feature: the 468 FaceMesh landmarks in a face-centred frame — origin between
 * the eyes, eyes on the x axis, unit = distance between the eye centres — so the numbers describe
 * expression and pose rather than where the face is or how large it appears.
 */
import { MESH_POINTS } from '../face/landmarks.js';
import type { Frame } from '../video/decode.js';
import type { FaceGeometry, FeatureExtractor } from './extractor.js';

export function normalisedLandmarks(face: FaceGeometry): Float32Array {
  const [le, re] = face.keypoints;
  const ox = (le[0] + re[0]) / 2;
  const oy = (le[1] + re[1]) / 2;
  const iod = Math.hypot(re[0] - le[0], re[1] - le[1]) || 1;
  const angle = Math.atan2(re[1] - le[1], re[0] - le[0]);
  const cos = Math.cos(-angle) / iod;
  const sin = Math.sin(-angle) / iod;
  const out = new Float32Array(MESH_POINTS * 3);
  const lm = face.landmarks;
  for (let p = 0; p < MESH_POINTS; p++) {
    const x = lm[3 * p] - ox;
    const y = lm[3 * p + 1] - oy;
    out[3 * p] = cos * x - sin * y;
    out[3 * p + 1] = sin * x + cos * y;
    out[3 * p + 2] = lm[3 * p + 2] / iod;
  }
  return out;
}

export class LandmarkGeometryExtractor implements FeatureExtractor {
  readonly id = 'landmarks';
  readonly version = '1';
  readonly dim = MESH_POINTS * 3;
  readonly description = 'FaceMesh 468×(x, y, z), origin between the eyes, roll removed, unit = inter-ocular distance';
  readonly columns = Array.from({ length: MESH_POINTS * 3 }, (_, i) => `landmarks.${'xyz'[i % 3]}${Math.floor(i / 3)}`);

  async run(_frame: Frame, faces: FaceGeometry[]): Promise<Float32Array[]> {
    return faces.map(normalisedLandmarks);
  }
}
