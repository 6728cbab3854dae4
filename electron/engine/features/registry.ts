/**
 * The extractor registry: built-in extractors by name, user extractors by manifest path.
 */
import { EMOTION_CLASSES, ensureInt8FaceModel, INT8_MODELS } from '../../../models/pretrained/face-models.js';
import { openFaceModel } from '../onnx/face-models.js';
import { UserError } from '../../../common/errors.js';
import type { SessionFactory } from '../onnx/sessions.js';
import type { FeatureExtractor } from './extractor.js';
import { ImageModelExtractor } from './image-model.js';
import { LandmarkGeometryExtractor } from './landmark-geometry.js';
import { loadManifestExtractor } from './manifest.js';
import { GazeExtractor, HeadPoseExtractor } from './pose-gaze.js';

interface BuiltinExtractor {
  description: string;
  create(sessions: SessionFactory, options: ExtractorOptions): Promise<FeatureExtractor>;
}

export interface ExtractorOptions {
  /** Run the int8 variant where there is one (INT8_MODELS). */
  int8?: boolean;
}

/** The session of a built-in image model, its int8 variant if asked for. */
async function imageModel(sessions: SessionFactory, extractor: keyof typeof INT8_MODELS, options: ExtractorOptions) {
  const model = INT8_MODELS[extractor];
  if (!options.int8) return { session: await openFaceModel(sessions, model, extractor), variant: undefined };
  return { session: await sessions.create(ensureInt8FaceModel(model), `${extractor} (int8)`), variant: 'int8' };
}

/**
 * Crop framing of the expression network, relative to the landmark extent: FER2013 faces fill their
 * images, so a tight crop (measured on the acted-expressions clip, see docs/faces.md).
 */
const EXPRESSION_CROP_SCALE = 1.1;
/** The descriptor network saw loose crops (as @vladmandic/human feeds it). */
const DESCRIPTOR_CROP_SCALE = 1.4;

export const BUILTIN_EXTRACTORS: Record<string, BuiltinExtractor> = {
  expression: {
    description: 'expression CNN (mini-Xception, FER2013, 7 classes): 256-d penultimate embedding + 7 class logits',
    async create(sessions, options) {
      const { session, variant } = await imageModel(sessions, 'expression', options);
      return ImageModelExtractor.create({
        id: 'expression',
        version: '1',
        variant,
        description: this.description,
        session,
        inputName: 'input',
        input: { width: 64, height: 64, channels: 'gray', layout: 'nhwc', pixelScale: 1 / 255, mean: [0.5], std: [0.5], maxSupersample: 2 },
        crop: { alignment: 'box', scale: EXPRESSION_CROP_SCALE },
        outputs: [
          { name: 'embedding', prefix: 'emb' },
          { name: 'logits', prefix: 'logit_', labels: EMOTION_CLASSES },
        ],
        source: 'built-in expression model',
      });
    },
  },
  faceres: {
    description: 'face descriptor (HSE FaceRes, MobileNet): 1024-d embedding of identity and appearance',
    async create(sessions, options) {
      const { session, variant } = await imageModel(sessions, 'faceres', options);
      return ImageModelExtractor.create({
        id: 'faceres',
        version: '1',
        variant,
        description: this.description,
        session,
        inputName: 'input',
        input: { width: 224, height: 224, channels: 'rgb', layout: 'nhwc', pixelScale: 1, mean: [0], std: [1], maxSupersample: 2 },
        crop: { alignment: 'box', scale: DESCRIPTOR_CROP_SCALE },
        outputs: [{ name: 'descriptor', prefix: 'd' }],
        source: 'built-in faceres model',
      });
    },
  },
  landmarks: {
    description: 'normalised FaceMesh geometry: 468 × (x, y, z) in an eye-centred, roll-free frame, unit = inter-ocular distance',
    async create() {
      return new LandmarkGeometryExtractor();
    },
  },
  pose: {
    description: "head pose (OpenFace's pose_Tx…pose_Rz): the canonical 3-D face fitted to the landmarks",
    async create() {
      return new HeadPoseExtractor();
    },
  },
  gaze: {
    description: "eye gaze (OpenFace's gaze_0_x…gaze_angle_y): iris centres from the iris model on an eyeball model placed by the head pose",
    async create(sessions) {
      return GazeExtractor.create(sessions);
    },
  },
};

export const DEFAULT_EXTRACTORS = ['expression', 'faceres', 'landmarks'];

/** Creates extractors from names (built-in) or paths to manifests (`*.json`), in the given order. */
export async function createExtractors(specs: string[], sessions: SessionFactory, options: ExtractorOptions = {}): Promise<FeatureExtractor[]> {
  const out: FeatureExtractor[] = [];
  for (const spec of specs) {
    let extractor: FeatureExtractor;
    if (BUILTIN_EXTRACTORS[spec]) extractor = await BUILTIN_EXTRACTORS[spec].create(sessions, options);
    else if (spec.endsWith('.json')) extractor = await loadManifestExtractor(spec, sessions);
    else throw new UserError(`unknown extractor "${spec}"`, `use one of ${Object.keys(BUILTIN_EXTRACTORS).join(', ')}, or the path of an extractor manifest (.json)`);
    if (out.some((e) => e.id === extractor.id)) throw new UserError(`extractor id "${extractor.id}" is used twice`, 'give each extractor a distinct id');
    out.push(extractor);
  }
  return out;
}
