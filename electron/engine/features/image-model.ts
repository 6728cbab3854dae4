/**
 * An extractor that runs an ONNX image model on an aligned crop of each face: the built-in
 * expression and descriptor networks, and any model a user registers with a manifest.
 */
import { invertAffine, roiToFrame, similarityTransform, type Affine, type Point } from '../face/geometry.js';
import { MESH_ROI_SCALE } from '../face/landmarks.js';
import { inputLength, sampleAffine, type InputSpec } from '../face/sample.js';
import type { ModelSession } from '../onnx/sessions.js';
import { UserError } from '../../../common/errors.js';
import type { Frame } from '../video/decode.js';
import { perFrame, type CropSpec, type FaceGeometry, type FeatureExtractor, type FrameFaces } from './extractor.js';

/** InsightFace's 112×112 five-point template (eyes, nose, mouth corners; image-left first). */
export const ARCFACE_TEMPLATE_112: Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** Map from crop pixels to frame pixels for one face. */
export function cropToFrame(face: FaceGeometry, crop: CropSpec, width: number, height: number): Affine {
  if (crop.alignment === 'fivepoint') {
    const target = ARCFACE_TEMPLATE_112.map(([x, y]) => [(x * width) / 112, (y * height) / 112] as Point);
    return invertAffine(similarityTransform(face.keypoints, target));
  }
  const side = (face.roi.side / MESH_ROI_SCALE) * crop.scale;
  const m = roiToFrame({ ...face.roi, side }, width);
  if (height === width) return m;
  // a non-square input sees the same square region, stretched
  const sy = width / height;
  return [m[0], m[1] * sy, m[2], m[3], m[4] * sy, m[5]];
}

export interface ImageModelOutput {
  /** ONNX output name. */
  name: string;
  /** Column name prefix; columns are `<extractor>.<prefix><i>` or the given labels. */
  prefix: string;
  labels?: readonly string[];
}

export interface ImageModelConfig {
  id: string;
  version: string;
  variant?: string;
  description: string;
  session: ModelSession;
  inputName: string;
  input: InputSpec;
  crop: CropSpec;
  outputs: ImageModelOutput[];
  /** Where the model came from, for error messages. */
  source: string;
}

/**
 * Input values per model call: small crops go many at a time (a call has a fixed cost), large ones
 * few (ONNX Runtime keeps the activations of the largest call it saw: 16 FaceRes crops held ~250 MB).
 */
const MAX_BATCH_VALUES = 1 << 18;
const MAX_BATCH = 32;

/** Faces per model call for an input of `values` numbers per face. */
export function facesPerCall(values: number): number {
  return Math.max(1, Math.min(MAX_BATCH, Math.floor(MAX_BATCH_VALUES / values)));
}

export class ImageModelExtractor implements FeatureExtractor {
  readonly id: string;
  readonly version: string;
  readonly variant?: string;
  readonly description: string;
  readonly dim: number;
  readonly columns: string[];
  private buffer = new Float32Array(0);
  private batchable = true;

  private constructor(
    private readonly config: ImageModelConfig,
    private readonly dims: number[],
  ) {
    this.id = config.id;
    this.version = config.version;
    this.variant = config.variant;
    this.description = config.description;
    this.dim = dims.reduce((a, b) => a + b, 0);
    this.columns = config.outputs.flatMap((o, k) =>
      Array.from({ length: dims[k] }, (_, i) => `${config.id}.${o.labels?.[i] !== undefined ? `${o.prefix}${o.labels[i]}` : `${o.prefix}${i}`}`));
  }

  get provider(): string {
    return this.config.session.provider;
  }

  /** Runs the model once on a blank image to learn (and check) its output sizes. */
  static async create(config: ImageModelConfig): Promise<ImageModelExtractor> {
    const missing = config.outputs.map((o) => o.name).filter((n) => !config.session.outputNames.includes(n));
    if (missing.length) {
      throw new UserError(`model has no output named ${missing.join(', ')} (it has ${config.session.outputNames.join(', ')})`, 'fix "output" in the extractor manifest', config.source);
    }
    if (!config.session.inputNames.includes(config.inputName)) {
      throw new UserError(`model has no input named "${config.inputName}" (it has ${config.session.inputNames.join(', ')})`, 'fix "input.name" in the extractor manifest', config.source);
    }
    const blank = new Float32Array(inputLength(config.input));
    let out;
    try {
      out = await config.session.run({ [config.inputName]: { data: blank, dims: inputDims(config.input, 1) } }, config.outputs.map((o) => o.name));
    } catch (err) {
      throw new UserError(`model rejects a ${config.input.layout.toUpperCase()} input of ${inputDims(config.input, 1).join('×')} (${(err as Error).message.split('\n')[0]})`,
        'fix "input" (size, layout, channels) in the extractor manifest', config.source);
    }
    const dims = config.outputs.map((o) => out[o.name].data.length);
    config.outputs.forEach((o, k) => {
      if (o.labels && o.labels.length !== dims[k]) throw new Error(`${config.id}: output ${o.name} has ${dims[k]} values, ${o.labels.length} labels`);
    });
    return new ImageModelExtractor(config, dims);
  }

  async run(frame: Frame, faces: FaceGeometry[]): Promise<Float32Array[]> {
    return (await this.runFrames([{ frame, faces }]))[0];
  }

  /** The model's input for all faces of the frames, one crop after the other (its own buffer: do not keep it). */
  inputs(items: FrameFaces[]): { data: Float32Array; count: number; dims: number[] } {
    const { input } = this.config;
    const per = inputLength(input);
    const n = items.reduce((a, it) => a + it.faces.length, 0);
    if (this.buffer.length < per * n) this.buffer = new Float32Array(per * n);
    let i = 0;
    for (const { frame, faces } of items) {
      for (const face of faces) sampleAffine(frame.rgb, frame.width, frame.height, cropToFrame(face, this.config.crop, input.width, input.height), input, this.buffer, per * i++);
    }
    return { data: this.buffer.subarray(0, per * n), count: n, dims: inputDims(input, 1).slice(1) };
  }

  /** All faces of all the frames cropped into one input, run in batches of at most MAX_BATCH. */
  async runFrames(items: FrameFaces[]): Promise<Float32Array[][]> {
    const per = inputLength(this.config.input);
    const n = this.inputs(items).count;
    if (!n) return items.map(() => []);
    const rows: Float32Array[] = [];
    for (let start = 0; start < n; ) {
      const count = this.batchable ? Math.min(facesPerCall(per), n - start) : 1;
      try {
        rows.push(...(await this.infer(this.buffer.subarray(start * per, (start + count) * per), count)));
        start += count;
      } catch (err) {
        if (count === 1) throw err;
        this.batchable = false; // models exported with a fixed batch of 1 take one face at a time
      }
    }
    return perFrame(items, rows);
  }

  private async infer(data: Float32Array, n: number): Promise<Float32Array[]> {
    const names = this.config.outputs.map((o) => o.name);
    const out = await this.config.session.run({ [this.config.inputName]: { data, dims: inputDims(this.config.input, n) } }, names);
    const rows = Array.from({ length: n }, () => new Float32Array(this.dim));
    let offset = 0;
    names.forEach((name, k) => {
      const d = this.dims[k];
      const values = out[name].data;
      if (values.length !== d * n) throw new Error(`${this.id}: output ${name} has ${values.length} values for ${n} faces, expected ${d} each`);
      for (let i = 0; i < n; i++) rows[i].set(values.subarray(i * d, (i + 1) * d), offset);
      offset += d;
    });
    return rows;
  }
}

export function inputDims(spec: InputSpec, n: number): number[] {
  const c = spec.channels === 'gray' ? 1 : 3;
  return spec.layout === 'nchw' ? [n, c, spec.height, spec.width] : [n, spec.height, spec.width, c];
}
