/**
 * Head pose from the FaceMesh landmarks, in OpenFace's conventions, so `pose_*` columns mean the same
 * as in OpenFace 2.x output (docs/pose-and-gaze.md).
 *
 * The canonical metric face (models/pretrained/canonical-face.ts) is fitted to the landmarks of the
 * points MediaPipe chose as stable under expressions, with their weights:
 *   1. a start from FaceMesh's own 3-D landmarks (weak perspective): a similarity fit gives the
 *      rotation, and the scale gives the distance (pixels per millimetre = focal length ÷ depth);
 *   2. perspective-n-point refinement (Levenberg–Marquardt on rotation and translation) minimising the
 *      weighted reprojection error of the 2-D landmarks through a pinhole camera.
 * OpenFace does the same last step (its face model's 3-D landmarks, solvePnP) with the camera it
 * assumes when none is given: fx = 500·W/640, fy = 500·H/480, both set to their mean, centre = image
 * centre. Translation is in millimetres of the canonical face, so it is right for an average-sized
 * head; rotation does not depend on the head's size.
 */
import type { CanonicalFace } from '../../../models/pretrained/canonical-face.js';
import { apply, fitSimilarity, fromRotationVector, matMul, toEuler, type Mat3, type Vec3 } from './rotation.js';

export interface CameraIntrinsics {
  fx: number;
  fy: number;
  cx: number;
  cy: number;
}

/** The camera OpenFace assumes for an image of this size when it is given no calibration. */
export function defaultIntrinsics(width: number, height: number): CameraIntrinsics {
  if (!(width > 0 && height > 0)) throw new Error(`image size ${width}×${height} cannot define a camera`);
  const f = (500 * (width / 640) + 500 * (height / 480)) / 2;
  return { fx: f, fy: f, cx: width / 2, cy: height / 2 };
}

export interface HeadPose {
  /** Head frame → camera frame (x right, y down, z forward); columns are the head's axes. */
  rotation: Mat3;
  /** Head origin in camera coordinates, millimetres. */
  translation: Vec3;
  /** OpenFace's pose_Rx, pose_Ry, pose_Rz (radians): R = Rx·Ry·Rz. */
  euler: Vec3;
  /** Weighted RMS reprojection error of the fitted points, pixels. */
  rmsError: number;
}

const ITERATIONS = 20;

/** Solves the 6×6 system A·x = b (Gaussian elimination with partial pivoting); null if singular. */
function solve6(a: number[], b: number[]): number[] | null {
  const n = 6;
  const m = a.slice();
  const x = b.slice();
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
    if (Math.abs(m[p * n + c]) < 1e-15) return null;
    if (p !== c) {
      for (let k = 0; k < n; k++) [m[c * n + k], m[p * n + k]] = [m[p * n + k], m[c * n + k]];
      [x[c], x[p]] = [x[p], x[c]];
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = x[c];
    for (let k = c + 1; k < n; k++) s -= m[c * n + k] * x[k];
    x[c] = s / m[c * n + c];
  }
  return x;
}

interface FitPoints {
  model: Float64Array; // n × 3, mm
  image: Float64Array; // n × 2, px
  weights: Float64Array;
}

function reprojectionCost(p: FitPoints, r: Mat3, t: Vec3, cam: CameraIntrinsics): number {
  let cost = 0;
  for (let i = 0; i < p.weights.length; i++) {
    const X = apply(r, [p.model[3 * i], p.model[3 * i + 1], p.model[3 * i + 2]]);
    const z = X[2] + t[2];
    if (z <= 1) return Infinity; // behind or at the camera: not a valid pose
    const du = cam.fx * (X[0] + t[0]) / z + cam.cx - p.image[2 * i];
    const dv = cam.fy * (X[1] + t[1]) / z + cam.cy - p.image[2 * i + 1];
    cost += p.weights[i] * (du * du + dv * dv);
  }
  return cost;
}

/** Levenberg–Marquardt on (rotation increment, translation), rotation updated as R ← exp([δω]×)·R. */
function refine(p: FitPoints, r0: Mat3, t0: Vec3, cam: CameraIntrinsics): { r: Mat3; t: Vec3; cost: number } {
  let r = r0, t = t0;
  let cost = reprojectionCost(p, r, t, cam);
  let lambda = 1e-3;
  for (let it = 0; it < ITERATIONS; it++) {
    const jtj = new Array(36).fill(0);
    const jtr = new Array(6).fill(0);
    for (let i = 0; i < p.weights.length; i++) {
      const w = p.weights[i];
      const q = apply(r, [p.model[3 * i], p.model[3 * i + 1], p.model[3 * i + 2]]); // rotated point
      const X = q[0] + t[0], Y = q[1] + t[1], Z = q[2] + t[2];
      const iz = 1 / Z;
      const ru = cam.fx * X * iz + cam.cx - p.image[2 * i];
      const rv = cam.fy * Y * iz + cam.cy - p.image[2 * i + 1];
      // d(u, v)/d(X, Y, Z)
      const du: Vec3 = [cam.fx * iz, 0, -cam.fx * X * iz * iz];
      const dv: Vec3 = [0, cam.fy * iz, -cam.fy * Y * iz * iz];
      // d(X, Y, Z)/dω = −[q]×, d(X, Y, Z)/dt = I
      const cross = (g: Vec3): number[] => [-g[1] * q[2] + g[2] * q[1], g[0] * q[2] - g[2] * q[0], -g[0] * q[1] + g[1] * q[0]];
      const ju = [...cross(du), ...du];
      const jv = [...cross(dv), ...dv];
      for (let a = 0; a < 6; a++) {
        jtr[a] += w * (ju[a] * ru + jv[a] * rv);
        for (let b = 0; b < 6; b++) jtj[6 * a + b] += w * (ju[a] * ju[b] + jv[a] * jv[b]);
      }
    }
    let improved = false;
    for (let attempt = 0; attempt < 8 && !improved; attempt++) {
      const damped = jtj.slice();
      for (let a = 0; a < 6; a++) damped[7 * a] *= 1 + lambda;
      const step = solve6(damped, jtr.map((v) => -v));
      if (!step) break;
      const rNew = matMul(fromRotationVector([step[0], step[1], step[2]]), r);
      const tNew: Vec3 = [t[0] + step[3], t[1] + step[4], t[2] + step[5]];
      const c = reprojectionCost(p, rNew, tNew, cam);
      if (c < cost) {
        improved = true;
        const gain = (cost - c) / Math.max(cost, 1e-12);
        r = rNew;
        t = tNew;
        cost = c;
        lambda = Math.max(lambda / 10, 1e-9);
        if (gain < 1e-10) return { r, t, cost };
      } else {
        lambda *= 10;
      }
    }
    if (!improved) break;
  }
  return { r, t, cost };
}

/**
 * @param landmarks 468 × (x, y, z) in frame pixels, as FaceMesh returns them (z in the scale of x,
 *   smaller = nearer the camera)
 */
export function estimateHeadPose(landmarks: ArrayLike<number>, camera: CameraIntrinsics, face: CanonicalFace): HeadPose {
  const n = face.basis.length;
  const pts: FitPoints = { model: new Float64Array(3 * n), image: new Float64Array(2 * n), weights: new Float64Array(n) };
  const mesh3d = new Float64Array(3 * n);
  face.basis.forEach(({ index, weight }, i) => {
    for (let a = 0; a < 3; a++) {
      pts.model[3 * i + a] = face.vertices[3 * index + a];
      mesh3d[3 * i + a] = landmarks[3 * index + a];
    }
    pts.image[2 * i] = landmarks[3 * index];
    pts.image[2 * i + 1] = landmarks[3 * index + 1];
    pts.weights[i] = weight;
  });
  for (let i = 0; i < mesh3d.length; i++) if (!Number.isFinite(mesh3d[i])) throw new Error('head pose: landmarks are not finite');
  // 1. weak perspective: mesh ≈ s·R·model + t, with s in pixels per millimetre at the head's depth
  const start = fitSimilarity(pts.model, mesh3d, pts.weights);
  if (!(start.scale > 0)) throw new Error('head pose: the landmarks are degenerate');
  const f = (camera.fx + camera.fy) / 2;
  const z0 = f / start.scale;
  const t0: Vec3 = [((start.translation[0] - camera.cx) * z0) / camera.fx, ((start.translation[1] - camera.cy) * z0) / camera.fy, z0];
  // 2. perspective refinement
  const { r, t, cost } = refine(pts, start.rotation, t0, camera);
  const wsum = pts.weights.reduce((a, b) => a + b, 0);
  return { rotation: r, translation: t, euler: toEuler(r), rmsError: Math.sqrt(cost / wsum) };
}

/** Projects a point of the head frame (mm) into the image (pixels). */
export function projectHeadPoint(pose: Pick<HeadPose, 'rotation' | 'translation'>, camera: CameraIntrinsics, p: Vec3): [number, number] {
  const X = apply(pose.rotation, p);
  const z = X[2] + pose.translation[2];
  return [(camera.fx * (X[0] + pose.translation[0])) / z + camera.cx, (camera.fy * (X[1] + pose.translation[1])) / z + camera.cy];
}
