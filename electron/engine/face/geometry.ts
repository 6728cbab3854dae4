/**
 * 2-D geometry for face crops: affine maps in continuous pixel coordinates (pixel corners on
 * integers, centres on .5), rotated square regions of interest, and the least-squares similarity
 * transform that aligns keypoints to a template.
 */
export type Point = [number, number];

/** Maps (x, y) to (a·x + b·y + c, d·x + e·y + f). */
export type Affine = [number, number, number, number, number, number];

export const applyAffine = (m: Affine, [x, y]: Point): Point => [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];

export function invertAffine(m: Affine): Affine {
  const det = m[0] * m[4] - m[1] * m[3];
  if (!det) throw new Error('affine map is not invertible');
  const a = m[4] / det;
  const b = -m[1] / det;
  const d = -m[3] / det;
  const e = m[0] / det;
  return [a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])];
}

/** Scale factor of the map (square root of |det|): source pixels per destination pixel. */
export const affineScale = (m: Affine): number => Math.sqrt(Math.abs(m[0] * m[4] - m[1] * m[3]));

/** A square region of the frame, centred at `center`, `side` pixels wide, turned by `angle` radians. */
export interface Roi {
  center: Point;
  side: number;
  angle: number;
}

/** Map from crop pixels (size × size) to frame pixels for a region of interest. */
export function roiToFrame(roi: Roi, size: number): Affine {
  const s = roi.side / size;
  const cos = Math.cos(roi.angle) * s;
  const sin = Math.sin(roi.angle) * s;
  const h = size / 2;
  // frame = center + R · (crop − h) · s
  return [cos, -sin, roi.center[0] - cos * h + sin * h, sin, cos, roi.center[1] - sin * h - cos * h];
}

/** Angle of the line from `a` to `b`, in radians (image axes: y down). */
export const lineAngle = (a: Point, b: Point): number => Math.atan2(b[1] - a[1], b[0] - a[0]);

/**
 * Least-squares similarity (rotation, uniform scale, translation) taking `from` onto `to`
 * (Umeyama's method in 2-D, closed form).
 */
export function similarityTransform(from: Point[], to: Point[]): Affine {
  const n = from.length;
  if (n < 2 || to.length !== n) throw new Error('similarity transform needs two or more point pairs');
  let mfx = 0, mfy = 0, mtx = 0, mty = 0;
  for (let i = 0; i < n; i++) {
    mfx += from[i][0]; mfy += from[i][1]; mtx += to[i][0]; mty += to[i][1];
  }
  mfx /= n; mfy /= n; mtx /= n; mty /= n;
  let sxx = 0, sxy = 0, varF = 0;
  for (let i = 0; i < n; i++) {
    const fx = from[i][0] - mfx, fy = from[i][1] - mfy, tx = to[i][0] - mtx, ty = to[i][1] - mty;
    sxx += fx * tx + fy * ty; // Σ f·t
    sxy += fx * ty - fy * tx; // Σ f×t
    varF += fx * fx + fy * fy;
  }
  if (!varF) throw new Error('similarity transform: source points coincide');
  const a = sxx / varF; // s·cos
  const b = sxy / varF; // s·sin
  return [a, -b, mtx - a * mfx + b * mfy, b, a, mty - b * mfx - a * mfy];
}

export function boxIou(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}
