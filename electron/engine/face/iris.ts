/**
 * MediaPipe's iris landmark model on both eyes of each face: 71 eye-contour and brow points and
 * 5 iris points (centre, then four on the iris edge) per eye, in frame pixels.
 *
 * The model was trained on one eye seen as the subject's right eye appears in an image (outer corner
 * on the image's left). Each eye gets an upright square crop centred between its corners, 2.3 × the
 * corner distance wide (the framing MediaPipe uses), turned by the face's roll; the subject's left
 * eye is mirrored into that appearance, and its points are mirrored back through the same map.
 */
import { openFaceModel } from '../onnx/face-models.js';
import type { ModelSession, SessionFactory } from '../onnx/sessions.js';
import type { Frame } from '../video/decode.js';
import { applyAffine, type Affine, type Point } from './geometry.js';
import { MESH_INDEX, rollOf } from './landmarks.js';
import { inputLength, sampleAffine, type InputSpec } from './sample.js';

const SIZE = 64;
const INPUT: InputSpec = { width: SIZE, height: SIZE, channels: 'rgb', layout: 'nhwc', pixelScale: 1 / 255, mean: [0], std: [1], maxSupersample: 2 };
const CONTOUR_POINTS = 71;
const IRIS_POINTS = 5;
const OUTPUT_VALUES = (CONTOUR_POINTS + IRIS_POINTS) * 3;
/** Eye crop side ÷ eye-corner distance. */
export const EYE_CROP_SCALE = 2.3;
/** Contour points 0 and 8 are the eye's corners: the model's outer and inner corner. */
export const CONTOUR_OUTER_CORNER = 0;
export const CONTOUR_INNER_CORNER = 8;

export interface EyeLandmarks {
  /** Iris centre, frame pixels. */
  iris: Point;
  /** Mean distance from the iris centre to its four edge points (pixels): the iris radius. */
  irisRadius: number;
  /** The 71 contour and brow points (x, y), frame pixels. */
  contour: Point[];
}

export interface FaceEyes {
  /** Eye 0 is the image-left eye (the subject's right), eye 1 the image-right eye: OpenFace's order. */
  eyes: [EyeLandmarks, EyeLandmarks];
}

/** The mesh's corners of eye 0 and eye 1, outer first. */
export const EYE_CORNERS: [[number, number], [number, number]] = [
  [MESH_INDEX.rightEyeOuter, MESH_INDEX.rightEyeInner],
  [MESH_INDEX.leftEyeOuter, MESH_INDEX.leftEyeInner],
];

/** Map from eye-crop pixels to frame pixels; `mirror` flips the crop left–right. */
export function eyeCropToFrame(landmarks: ArrayLike<number>, eye: 0 | 1, roll: number): Affine {
  const [outer, inner] = EYE_CORNERS[eye];
  const ox = landmarks[3 * outer], oy = landmarks[3 * outer + 1];
  const ix = landmarks[3 * inner], iy = landmarks[3 * inner + 1];
  const side = Math.hypot(ix - ox, iy - oy) * EYE_CROP_SCALE;
  const s = side / SIZE;
  const cos = Math.cos(roll) * s, sin = Math.sin(roll) * s;
  // crop (u, v) → frame: centre + R(roll)·((u' − 32), (v − 32))·s, with u' = u, or 64 − u for the mirrored eye
  const m = eye === 1 ? -1 : 1;
  const cx = (ox + ix) / 2, cy = (oy + iy) / 2;
  const h = SIZE / 2;
  return [m * cos, -sin, cx - m * cos * h + sin * h, m * sin, cos, cy - m * sin * h - cos * h];
}

export class IrisModel {
  private buffer = new Float32Array(0);

  private constructor(private readonly session: ModelSession) {}

  static async create(factory: SessionFactory): Promise<IrisModel> {
    return new IrisModel(await openFaceModel(factory, 'iris'));
  }

  get provider(): string {
    return this.session.provider;
  }

  /** Both eyes of every face, in one batch. `landmarks`: each face's 468 × 3 mesh in frame pixels. */
  async run(frame: Pick<Frame, 'rgb' | 'width' | 'height'>, faces: ArrayLike<number>[]): Promise<FaceEyes[]> {
    if (!faces.length) return [];
    const per = inputLength(INPUT);
    const n = faces.length * 2;
    if (this.buffer.length < per * n) this.buffer = new Float32Array(per * n);
    const maps: Affine[] = [];
    faces.forEach((lm) => {
      const roll = rollOf(lm as Float32Array);
      for (const eye of [0, 1] as const) maps.push(eyeCropToFrame(lm, eye, roll));
    });
    maps.forEach((m, i) => sampleAffine(frame.rgb, frame.width, frame.height, m, INPUT, this.buffer, i * per));
    const out = await this.session.run({ input: { data: this.buffer.subarray(0, per * n), dims: [n, SIZE, SIZE, 3] } });
    const raw = out.landmarks.data;
    if (raw.length !== n * OUTPUT_VALUES) throw new Error(`iris model returned ${raw.length} values for ${n} eyes`);
    const eyeAt = (i: number): EyeLandmarks => {
      const v = raw.subarray(i * OUTPUT_VALUES, (i + 1) * OUTPUT_VALUES);
      const point = (k: number): Point => applyAffine(maps[i], [v[3 * k], v[3 * k + 1]]);
      const contour = Array.from({ length: CONTOUR_POINTS }, (_, k) => point(k));
      const iris = point(CONTOUR_POINTS);
      let radius = 0;
      for (let k = 1; k < IRIS_POINTS; k++) {
        const p = point(CONTOUR_POINTS + k);
        radius += Math.hypot(p[0] - iris[0], p[1] - iris[1]) / (IRIS_POINTS - 1);
      }
      return { iris, irisRadius: radius, contour };
    };
    return faces.map((_, f) => ({ eyes: [eyeAt(2 * f), eyeAt(2 * f + 1)] }));
  }
}
