/**
 * Eye gaze from the iris centres, in OpenFace's conventions (docs/pose-and-gaze.md).
 *
 * Each eye is modelled as a sphere of radius 12 mm whose centre sits at a fixed offset from the
 * midpoint of the eye's corners in the head frame (7 mm behind it and 3.5 mm above it; the eye model
 * OpenFace's gaze estimate also uses). The corners are placed in 3-D by back-projecting their image
 * positions to the depth the fitted head pose gives them; the pupil is where the camera ray through
 * the iris centre meets the sphere; the gaze is the unit vector from the sphere's centre to the pupil,
 * in camera coordinates (x right, y down, z forward: a gaze at the camera has negative z).
 *
 * Limits: the iris centre is found to about a pixel, and one pixel of iris displacement is several
 * degrees of gaze on a small face; the eyeball model is an average one (no per-person calibration);
 * and with eyes nearly closed the iris model's centre is a guess. See the docs for measured agreement.
 */
import type { CanonicalFace } from '../../../models/pretrained/canonical-face.js';
import type { CameraIntrinsics, HeadPose } from './head-pose.js';
import { EYE_CORNERS, type FaceEyes } from './iris.js';
import { apply, type Vec3 } from './rotation.js';

/** Eyeball radius and the eyeball centre's offset from the eye-corner midpoint, head frame (mm). */
export const EYEBALL_RADIUS_MM = 12;
export const EYEBALL_OFFSET_MM: Vec3 = [0, -3.5, 7];

export interface Gaze {
  /** Unit gaze vectors of eye 0 (image-left eye, the subject's right) and eye 1, camera frame. */
  vectors: [Vec3, Vec3];
  /** OpenFace's gaze_angle_x, gaze_angle_y (radians) of the mean of both vectors. */
  angle: [number, number];
}

const normalise = (v: Vec3): Vec3 => {
  const n = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / n, v[1] / n, v[2] / n];
};

/** The point of the landmark `index` in camera coordinates: its image position at the fitted model's depth. */
function cornerInCamera(landmarks: ArrayLike<number>, index: number, pose: HeadPose, camera: CameraIntrinsics, face: CanonicalFace): Vec3 {
  const model: Vec3 = [face.vertices[3 * index], face.vertices[3 * index + 1], face.vertices[3 * index + 2]];
  const z = apply(pose.rotation, model)[2] + pose.translation[2];
  return [((landmarks[3 * index] - camera.cx) / camera.fx) * z, ((landmarks[3 * index + 1] - camera.cy) / camera.fy) * z, z];
}

/** Where the ray from the camera centre along `dir` (unit) first meets the sphere; the nearest point of the sphere to the ray if it misses. */
export function raySphere(dir: Vec3, centre: Vec3, radius: number): Vec3 {
  const along = dir[0] * centre[0] + dir[1] * centre[1] + dir[2] * centre[2];
  const c2 = centre[0] ** 2 + centre[1] ** 2 + centre[2] ** 2;
  const disc = along * along - (c2 - radius * radius);
  if (disc >= 0) {
    const t = along - Math.sqrt(disc);
    return [dir[0] * t, dir[1] * t, dir[2] * t];
  }
  // the ray passes beside the eyeball (an iris point off the model): take the sphere point nearest to it
  const closest: Vec3 = [dir[0] * along, dir[1] * along, dir[2] * along];
  const out = normalise([closest[0] - centre[0], closest[1] - centre[1], closest[2] - centre[2]]);
  return [centre[0] + out[0] * radius, centre[1] + out[1] * radius, centre[2] + out[2] * radius];
}

export function estimateGaze(landmarks: ArrayLike<number>, eyes: FaceEyes, pose: HeadPose, camera: CameraIntrinsics, face: CanonicalFace): Gaze {
  const offset = apply(pose.rotation, EYEBALL_OFFSET_MM);
  const vectors = ([0, 1] as const).map((e) => {
    const [outer, inner] = EYE_CORNERS[e];
    const a = cornerInCamera(landmarks, outer, pose, camera, face);
    const b = cornerInCamera(landmarks, inner, pose, camera, face);
    const centre: Vec3 = [(a[0] + b[0]) / 2 + offset[0], (a[1] + b[1]) / 2 + offset[1], (a[2] + b[2]) / 2 + offset[2]];
    const [u, v] = eyes.eyes[e].iris;
    const ray = normalise([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy, 1]);
    const pupil = raySphere(ray, centre, EYEBALL_RADIUS_MM);
    return normalise([pupil[0] - centre[0], pupil[1] - centre[1], pupil[2] - centre[2]]);
  }) as [Vec3, Vec3];
  const mean: Vec3 = [(vectors[0][0] + vectors[1][0]) / 2, (vectors[0][1] + vectors[1][1]) / 2, (vectors[0][2] + vectors[1][2]) / 2];
  return { vectors, angle: [Math.atan2(mean[0], -mean[2]), Math.atan2(mean[1], -mean[2])] };
}
