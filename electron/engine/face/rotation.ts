/**
 * 3-D rotations for the head-pose fit: row-major 3×3 matrices, Rodrigues vectors, OpenFace's Euler
 * convention, and the weighted similarity (rotation + scale + translation) between two point sets
 * by Horn's quaternion method, which cannot return a reflection.
 */
export type Mat3 = [number, number, number, number, number, number, number, number, number];
export type Vec3 = [number, number, number];

export const IDENTITY: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

export function matMul(a: Mat3, b: Mat3): Mat3 {
  const out = new Array(9).fill(0) as Mat3;
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) out[3 * r + c] = a[3 * r] * b[c] + a[3 * r + 1] * b[3 + c] + a[3 * r + 2] * b[6 + c];
  return out;
}

export const apply = (m: Mat3, v: Vec3): Vec3 => [m[0] * v[0] + m[1] * v[1] + m[2] * v[2], m[3] * v[0] + m[4] * v[1] + m[5] * v[2], m[6] * v[0] + m[7] * v[1] + m[8] * v[2]];

/** Rotation by the angle |w| about the axis w (Rodrigues). */
export function fromRotationVector(w: Vec3): Mat3 {
  const theta = Math.hypot(w[0], w[1], w[2]);
  if (theta < 1e-12) return [1, -w[2], w[1], w[2], 1, -w[0], -w[1], w[0], 1];
  const [x, y, z] = [w[0] / theta, w[1] / theta, w[2] / theta];
  const c = Math.cos(theta), s = Math.sin(theta), t = 1 - c;
  return [
    t * x * x + c, t * x * y - s * z, t * x * z + s * y,
    t * x * y + s * z, t * y * y + c, t * y * z - s * x,
    t * x * z - s * y, t * y * z + s * x, t * z * z + c,
  ];
}

/**
 * OpenFace's Euler angles (radians): R = Rx(pitch) · Ry(yaw) · Rz(roll), each a right-handed
 * rotation about the camera's axes (x right, y down, z forward). Returns [pitch, yaw, roll].
 */
export function toEuler(r: Mat3): Vec3 {
  const yaw = Math.asin(Math.max(-1, Math.min(1, r[2])));
  return [Math.atan2(-r[5], r[8]), yaw, Math.atan2(-r[1], r[0])];
}

export function fromEuler([pitch, yaw, roll]: Vec3): Mat3 {
  const rx: Mat3 = [1, 0, 0, 0, Math.cos(pitch), -Math.sin(pitch), 0, Math.sin(pitch), Math.cos(pitch)];
  const ry: Mat3 = [Math.cos(yaw), 0, Math.sin(yaw), 0, 1, 0, -Math.sin(yaw), 0, Math.cos(yaw)];
  const rz: Mat3 = [Math.cos(roll), -Math.sin(roll), 0, Math.sin(roll), Math.cos(roll), 0, 0, 0, 1];
  return matMul(matMul(rx, ry), rz);
}

/** Eigenvector of the largest eigenvalue of a symmetric 4×4 matrix (cyclic Jacobi rotations). */
function topEigenvector4(m: number[]): number[] {
  const a = m.slice();
  const v = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < 4; p++) for (let q = p + 1; q < 4; q++) off += a[4 * p + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < 4; p++) {
      for (let q = p + 1; q < 4; q++) {
        const apq = a[4 * p + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[4 * q + q] - a[4 * p + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < 4; k++) {
          const akp = a[4 * k + p], akq = a[4 * k + q];
          a[4 * k + p] = c * akp - s * akq;
          a[4 * k + q] = s * akp + c * akq;
        }
        for (let k = 0; k < 4; k++) {
          const apk = a[4 * p + k], aqk = a[4 * q + k];
          a[4 * p + k] = c * apk - s * aqk;
          a[4 * q + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < 4; k++) {
          const vkp = v[4 * k + p], vkq = v[4 * k + q];
          v[4 * k + p] = c * vkp - s * vkq;
          v[4 * k + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < 4; i++) if (a[5 * i] > a[5 * best]) best = i;
  return [v[best], v[4 + best], v[8 + best], v[12 + best]];
}

export interface Similarity {
  rotation: Mat3;
  scale: number;
  /** to ≈ scale · rotation · from + translation */
  translation: Vec3;
}

/**
 * Weighted least-squares similarity taking the points `from` onto `to` (both n × 3, flat), by Horn's
 * closed form (1987): the rotation is the top eigenvector of a 4×4 matrix built from the
 * cross-covariance, so it is always a proper rotation.
 */
export function fitSimilarity(from: ArrayLike<number>, to: ArrayLike<number>, weights: ArrayLike<number>): Similarity {
  const n = weights.length;
  let wsum = 0;
  const mf: Vec3 = [0, 0, 0], mt: Vec3 = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    wsum += weights[i];
    for (let a = 0; a < 3; a++) {
      mf[a] += weights[i] * from[3 * i + a];
      mt[a] += weights[i] * to[3 * i + a];
    }
  }
  if (!(wsum > 0)) throw new Error('similarity fit needs positive weights');
  for (let a = 0; a < 3; a++) {
    mf[a] /= wsum;
    mt[a] /= wsum;
  }
  const s = new Array(9).fill(0); // Σ w (from − mf)(to − mt)ᵀ
  let varFrom = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    for (let r = 0; r < 3; r++) {
      const f = from[3 * i + r] - mf[r];
      varFrom += w * f * f;
      for (let c = 0; c < 3; c++) s[3 * r + c] += w * f * (to[3 * i + c] - mt[c]);
    }
  }
  const [sxx, sxy, sxz, syx, syy, syz, szx, szy, szz] = s;
  const q = topEigenvector4([
    sxx + syy + szz, syz - szy, szx - sxz, sxy - syx,
    syz - szy, sxx - syy - szz, sxy + syx, szx + sxz,
    szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy,
    sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz,
  ]);
  const [w0, x, y, z] = q;
  const rotation: Mat3 = [
    w0 * w0 + x * x - y * y - z * z, 2 * (x * y - w0 * z), 2 * (x * z + w0 * y),
    2 * (x * y + w0 * z), w0 * w0 - x * x + y * y - z * z, 2 * (y * z - w0 * x),
    2 * (x * z - w0 * y), 2 * (y * z + w0 * x), w0 * w0 - x * x - y * y + z * z,
  ];
  // scale: Σ w (to − mt)·R(from − mf) / Σ w |from − mf|²
  let num = 0;
  for (let i = 0; i < n; i++) {
    const f = apply(rotation, [from[3 * i] - mf[0], from[3 * i + 1] - mf[1], from[3 * i + 2] - mf[2]]);
    for (let a = 0; a < 3; a++) num += weights[i] * f[a] * (to[3 * i + a] - mt[a]);
  }
  const scale = varFrom > 0 ? num / varFrom : 1;
  const rmf = apply(rotation, mf);
  return { rotation, scale, translation: [mt[0] - scale * rmf[0], mt[1] - scale * rmf[1], mt[2] - scale * rmf[2]] };
}
