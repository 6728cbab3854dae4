/**
 * BlazeFace face detection: letterbox the frame into the 256×256 input, decode the anchor-relative
 * boxes and six keypoints, keep boxes above the score threshold, and merge overlapping boxes with
 * weighted non-maximum suppression (as MediaPipe does: steadier boxes than plain NMS).
 */
import { openFaceModel } from '../onnx/face-models.js';
import type { ModelSession, SessionFactory } from '../onnx/sessions.js';
import type { Frame } from '../video/decode.js';
import { applyAffine, boxIou, type Affine, type Point } from './geometry.js';
import { sampleAffine, type InputSpec } from './sample.js';

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Detection {
  box: Box;
  score: number;
  /** Image-left eye, image-right eye, nose tip, mouth centre, image-left ear, image-right ear. */
  keypoints: Point[];
}

const SIZE = 256;
const INPUT: InputSpec = { width: SIZE, height: SIZE, channels: 'rgb', layout: 'nhwc', pixelScale: 1 / 255, mean: [0.5], std: [0.5] };

/** Anchor centres in input pixels: a 16×16 grid with 2 anchors per cell, then an 8×8 grid with 6. */
function makeAnchors(): Float32Array {
  const anchors: number[] = [];
  for (const [stride, perCell] of [[16, 2], [32, 6]]) {
    const cells = SIZE / stride;
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++) {
        for (let k = 0; k < perCell; k++) anchors.push((gx + 0.5) * stride, (gy + 0.5) * stride);
      }
    }
  }
  return Float32Array.from(anchors);
}
const ANCHORS = makeAnchors();

export interface DetectorOptions {
  /** Detector score a new face needs (FaceSettings.minDetectionScore). */
  minScore: number;
  iouThreshold?: number;
}

export class FaceDetector {
  private readonly input = new Float32Array(SIZE * SIZE * 3);

  private constructor(
    private readonly session: ModelSession,
    private readonly minScore: number,
    private readonly iouThreshold: number,
  ) {}

  static async create(factory: SessionFactory, options: DetectorOptions): Promise<FaceDetector> {
    const session = await openFaceModel(factory, 'blazeface');
    return new FaceDetector(session, options.minScore, options.iouThreshold ?? 0.3);
  }

  get provider(): string {
    return this.session.provider;
  }

  async detect(frame: Pick<Frame, 'rgb' | 'width' | 'height'>): Promise<Detection[]> {
    // Letterbox: the frame, centred on a square canvas, scaled to 256×256 (faces keep their shape).
    const side = Math.max(frame.width, frame.height);
    const s = side / SIZE;
    const toFrame: Affine = [s, 0, -(side - frame.width) / 2, 0, s, -(side - frame.height) / 2];
    sampleAffine(frame.rgb, frame.width, frame.height, toFrame, INPUT, this.input);
    const out = await this.session.run({ input: { data: this.input, dims: [1, SIZE, SIZE, 3] } });
    const scores = [out.scores_16.data, out.scores_32.data];
    const regs = [out.regressors_16.data, out.regressors_32.data];
    const candidates: Detection[] = [];
    const logitMin = Math.log(this.minScore / (1 - this.minScore));
    let anchor = 0;
    for (let part = 0; part < 2; part++) {
      const sc = scores[part];
      const rg = regs[part];
      for (let i = 0; i < sc.length; i++, anchor++) {
        if (sc[i] < logitMin) continue;
        const score = 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, sc[i]))));
        const ax = ANCHORS[2 * anchor];
        const ay = ANCHORS[2 * anchor + 1];
        const r = i * 16;
        const cx = ax + rg[r];
        const cy = ay + rg[r + 1];
        const [x0, y0] = applyAffine(toFrame, [cx - rg[r + 2] / 2, cy - rg[r + 3] / 2]);
        const [x1, y1] = applyAffine(toFrame, [cx + rg[r + 2] / 2, cy + rg[r + 3] / 2]);
        const keypoints: Point[] = [];
        for (let k = 0; k < 6; k++) keypoints.push(applyAffine(toFrame, [ax + rg[r + 4 + 2 * k], ay + rg[r + 5 + 2 * k]]));
        candidates.push({ box: { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }, score, keypoints });
      }
    }
    return weightedNms(candidates, this.iouThreshold);
  }
}

/** Groups boxes overlapping the best remaining one and replaces each group by its score-weighted mean. */
export function weightedNms(candidates: Detection[], iouThreshold: number): Detection[] {
  const rest = [...candidates].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  while (rest.length) {
    const best = rest[0];
    const group = rest.filter((d) => boxIou(best.box, d.box) > iouThreshold);
    const remaining = rest.filter((d) => boxIou(best.box, d.box) <= iouThreshold);
    const total = group.reduce((acc, d) => acc + d.score, 0);
    const avg = (get: (d: Detection) => number): number => group.reduce((acc, d) => acc + get(d) * d.score, 0) / total;
    kept.push({
      score: best.score,
      box: { x: avg((d) => d.box.x), y: avg((d) => d.box.y), w: avg((d) => d.box.w), h: avg((d) => d.box.h) },
      keypoints: best.keypoints.map((_, k) => [avg((d) => d.keypoints[k][0]), avg((d) => d.keypoints[k][1])] as Point),
    });
    rest.splice(0, rest.length, ...remaining);
  }
  return kept;
}
