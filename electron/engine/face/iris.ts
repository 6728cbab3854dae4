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
/** Eye crops per model call. */
const MAX_EYES = 32;
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
    return (await this.runFrames([{ frame, faces }]))[0];
  }

  /** Both eyes of every face of several frames, in batches of at most MAX_EYES. */
  async runFrames(items: { frame: Pick<Frame, 'rgb' | 'width' | 'height'>; faces: ArrayLike<number>[] }[]): Promise<FaceEyes[][]> {
    const per = inputLength(INPUT);
    const n = 2 * items.reduce((a, it) => a + it.faces.length, 0);
    if (!n) return items.map(() => []);
    if (this.buffer.length < per * n) this.buffer = new Float32Array(per * n);
    const maps: Affine[] = [];
    for (const { frame, faces } of items) {
      for (const lm of faces) {
        const roll = rollOf(lm as Float32Array);
        for (const eye of [0, 1] as const) {
          const m = eyeCropToFrame(lm, eye, roll);
          sampleAffine(frame.rgb, frame.width, frame.height, m, INPUT, this.buffer, maps.length * per);
          maps.push(m);
        }
      }
    }
    const raw = new Float32Array(n * OUTPUT_VALUES);
    for (let start = 0; start < n; start += MAX_EYES) {
      const count = Math.min(MAX_EYES, n - start);
      const out = await this.session.run({ input: { data: this.buffer.subarray(start * per, (start + count) * per), dims: [count, SIZE, SIZE, 3] } });
      if (out.landmarks.data.length !== count * OUTPUT_VALUES) throw new Error(`iris model returned ${out.landmarks.data.length} values for ${count} eyes`);
      raw.set(out.landmarks.data, start * OUTPUT_VALUES);
    }
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
    let eye = 0;
    return items.map(({ faces }) => faces.map(() => {
      const e: FaceEyes = { eyes: [eyeAt(eye), eyeAt(eye + 1)] };
      eye += 2;
      return e;
    }));
  }
}
