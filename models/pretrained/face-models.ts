/**
 * The pretrained face networks the pipeline runs, taken from the npm package `@vladmandic/human`
 * (MIT) and converted to ONNX on first use. Generated files live in the cache, never in git.
 */
import { UserError } from '../../common/errors.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { readTfjsGraph } from '../convert/tfjs-graph.js';
import { CONVERTER_VERSION, convertTfjsGraph, type OutputSpec } from '../convert/tfjs-to-onnx.js';
import { QUANTIZER_VERSION, quantizeQdq, type TensorRange } from '../convert/quantize.js';
import { INT8_CALIBRATION } from './int8-calibration.js';
import { cacheRoot, fileStamp, writeFileAtomic } from '../../common/node/storage.js';

/** The model files in the npm package are missing or damaged: something the user can fix. */
export class ModelSourceError extends UserError {
  constructor(message: string, hint: string, file: string) {
    super(message, hint, file);
    this.name = 'ModelSourceError';
  }
}

const REINSTALL = "reinstall the project's dependencies with `npm ci`";

export type FaceModelId = 'blazeface' | 'facemesh' | 'emotion' | 'faceres' | 'iris';

export interface FaceModelSpec {
  id: FaceModelId;
  description: string;
  /** Input size of the square NHWC input. */
  inputSize: number;
  outputs: OutputSpec[];
}

const BF = 'StatefulPartitionedCall/functional_1/';
const EM = 'StatefulPartitionedCall/model_1/';

export const FACE_MODELS: Record<FaceModelId, FaceModelSpec> = {
  blazeface: {
    id: 'blazeface',
    description: 'BlazeFace (MediaPipe, "back" 256×256 variant): face boxes and 6 keypoints; input RGB in [-1, 1]',
    inputSize: 256,
    outputs: [
      { name: 'scores_16', tensor: `${BF}tf_op_layer_classificators_1/classificators_1` },
      { name: 'regressors_16', tensor: `${BF}tf_op_layer_regressors_1/regressors_1` },
      { name: 'scores_32', tensor: `${BF}tf_op_layer_classificators_2/classificators_2` },
      { name: 'regressors_32', tensor: `${BF}tf_op_layer_regressors_2/regressors_2` },
    ],
  },
  facemesh: {
    id: 'facemesh',
    description: 'FaceMesh (MediaPipe): 468 3-D landmarks and a face-presence score; input RGB in [0, 1]',
    inputSize: 192,
    outputs: [
      { name: 'mesh', tensor: 'Identity_2' },
      { name: 'face_flag', tensor: 'Identity_1' },
    ],
  },
  emotion: {
    id: 'emotion',
    description: 'Expression CNN (oarriaga mini-Xception, FER2013): 7 classes; input grayscale in [-1, 1]',
    inputSize: 64,
    outputs: [
      { name: 'probs', tensor: 'Identity' },
      { name: 'logits', tensor: `${EM}global_average_pooling2d_1/Mean` },
      { name: 'embedding', tensor: `${EM}add_2/add`, reduce: 'mean-hw' },
    ],
  },
  iris: {
    id: 'iris',
    description: 'Iris landmarks (MediaPipe): 71 eye-contour and brow points and 5 iris points of one (right) eye; input RGB in [0, 1]',
    inputSize: 64,
    // [N, 1, 1, 228]: 71 × (x, y, z) contour and brows, then 5 × (x, y, z) iris, in input pixels
    outputs: [{ name: 'landmarks', tensor: 'Identity' }],
  },
  faceres: {
    id: 'faceres',
    description: 'HSE FaceRes descriptor (MobileNet): 1024-d face embedding; input RGB in [0, 255]',
    inputSize: 224,
    outputs: [{ name: 'descriptor', tensor: 'global_pooling/Mean' }],
  },
};

/**
 * Extractors with an int8 variant, and the network each runs. Only these: int8 made them 2–2.4×
 * faster on the CPU (FaceRes 8.0 → 3.4 ms, the expression CNN 0.9 → 0.45 ms per face); the
 * MediaPipe networks (FaceMesh, iris, BlazeFace) ran slower in int8, their activations between
 * convolutions (additions, channel padding) staying in float.
 */
export const INT8_MODELS = { expression: 'emotion', faceres: 'faceres' } as const satisfies Record<string, FaceModelId>;
export type Int8ModelId = (typeof INT8_MODELS)[keyof typeof INT8_MODELS];

/** Ranges of the activations of the int8 models, measured on face crops (tests/bench/calibrate-int8.ts). */
export interface Int8Calibration {
  version: number;
  clips: string[];
  every: number;
  models: Partial<Record<Int8ModelId, { fp32: string; crops: number; ranges: Record<string, TensorRange> }>>;
}

/** Where the calibration script writes (a module, so that builds carry it). */
export const INT8_CALIBRATION_FILE = 'models/pretrained/int8-calibration.ts';

/** Class order of the `emotion` network's output (oarriaga / FER2013 order). */
export const EMOTION_CLASSES = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;

export function humanModelsDir(): string {
  if (process.env.AFFECT_STUDIO_FACE_MODELS) return path.resolve(process.env.AFFECT_STUDIO_FACE_MODELS);
  // The package's "exports" hide package.json, so walk up from its entry point to the package root.
  let dir = path.dirname(createRequire(import.meta.url).resolve('@vladmandic/human'));
  while (!existsSync(path.join(dir, 'models', 'blazeface.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new ModelSourceError('cannot find the models folder of @vladmandic/human', REINSTALL, dir);
    dir = parent;
  }
  return path.join(dir, 'models');
}

export function tfjsModelJson(id: FaceModelId, dir = humanModelsDir()): string {
  return path.join(dir, `${id}.json`);
}

/**
 * Path of the ONNX file for a face model, converting it first if the cache lacks it. The file name
 * carries a hash of the source weights, the converter version and the output spec, so an updated
 * package or converter never reuses a stale conversion.
 */
/**
 * The int8 (QDQ) version of a face model, made from the float conversion and the calibration
 * ranges, cached beside it. A calibration made for another float model is refused: quantising with
 * its ranges would silently degrade the features.
 */
export function ensureInt8FaceModel(id: Int8ModelId, options: { sourceDir?: string; cacheDir?: string } = {}): string {
  const fp32 = ensureFaceModel(id, options);
  const cal = INT8_CALIBRATION.models[id];
  const digest = filesSha256([fp32], path.join(path.dirname(fp32), FILE_HASHES));
  if (!cal || cal.fp32 !== digest) {
    throw new UserError(`the int8 calibration of "${id}" was made for another conversion of the model`, 'run without --int8, or recalibrate (node dist/tests/bench/calibrate-int8.js) and rebuild', INT8_CALIBRATION_FILE);
  }
  const file = path.join(path.dirname(fp32), `${path.basename(fp32, '.onnx')}-int8-${createHash('sha256').update(JSON.stringify([QUANTIZER_VERSION, cal.ranges])).digest('hex').slice(0, 8)}.onnx`);
  if (!existsSync(file)) writeFileAtomic(file, quantizeQdq(readFileSync(fp32), cal.ranges));
  return file;
}

export function ensureFaceModel(id: FaceModelId, options: { sourceDir?: string; cacheDir?: string; force?: boolean } = {}): string {
  // hashing the source weights (FaceRes: 13 MB) once per process is enough; the file may go, though
  const key = JSON.stringify([id, options.sourceDir ?? humanModelsDir(), options.cacheDir ?? cacheRoot()]);
  const known = resolved.get(key);
  if (!options.force && known && existsSync(known)) return known;
  const file = convertIfNeeded(id, options);
  resolved.set(key, file);
  return file;
}

/** ensureFaceModel's answers so far (source folder and cache folder included in the key). */
const resolved = new Map<string, string>();

/** Hashes of files already read, beside the conversions (see filesSha256). */
const FILE_HASHES = 'file-hashes.json';
/** Entries kept in it: a few package versions' worth. */
const FILE_HASHES_KEPT = 50;

/**
 * The SHA-256 of some files' bytes (one after the other), remembered in `memoFile` under their
 * paths, sizes and modification times: hashing the source weights (all five models: 13 MB) took
 * ~90 ms in every thread of every run, and `--int8` hashed the float FaceRes (13 MB) again. A file
 * that changes changes its stamp, and is read again; a memo that cannot be read or written only
 * costs the reading.
 */
function filesSha256(files: string[], memoFile: string): string {
  const stamp = JSON.stringify(files.map(fileStamp));
  let memo: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(memoFile, 'utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) memo = parsed as Record<string, unknown>;
  } catch {
    // none yet, or damaged: made again below
  }
  const known = memo[stamp];
  if (typeof known === 'string' && /^[0-9a-f]{64}$/.test(known)) return known;
  const hash = createHash('sha256');
  for (const f of files) hash.update(readFileSync(f));
  const digest = hash.digest('hex');
  const kept = Object.entries(memo).filter(([k, v]) => k !== stamp && typeof v === 'string').slice(-(FILE_HASHES_KEPT - 1));
  try {
    mkdirSync(path.dirname(memoFile), { recursive: true });
    writeFileAtomic(memoFile, `${JSON.stringify(Object.fromEntries([...kept, [stamp, digest]]))}\n`);
  } catch {
    // a read-only cache: the next run hashes again
  }
  return digest;
}

function convertIfNeeded(id: FaceModelId, options: { sourceDir?: string; cacheDir?: string; force?: boolean }): string {
  const spec = FACE_MODELS[id];
  const jsonPath = tfjsModelJson(id, options.sourceDir);
  if (!existsSync(jsonPath)) {
    throw new ModelSourceError(`face model "${id}" is missing (${jsonPath})`, REINSTALL, jsonPath);
  }
  // The cache key hashes the raw source files: no need to decode weights when the ONNX file exists.
  const cacheDir = options.cacheDir ?? path.join(cacheRoot(), 'models');
  let sources: string;
  try {
    const manifest = JSON.parse(readFileSync(jsonPath, 'utf8')) as { weightsManifest?: { paths: string[] }[] };
    const shards = (manifest.weightsManifest ?? []).flatMap((group) => group.paths.map((p) => path.join(path.dirname(jsonPath), p)));
    sources = filesSha256([jsonPath, ...shards], path.join(cacheDir, FILE_HASHES));
  } catch (err) {
    throw new ModelSourceError(`face model "${id}" cannot be read: ${(err as Error).message}`, REINSTALL, jsonPath);
  }
  const hash = createHash('sha256').update(sources);
  hash.update(JSON.stringify({ v: CONVERTER_VERSION, outputs: spec.outputs }));
  const file = path.join(cacheDir, `${id}-${hash.digest('hex').slice(0, 16)}.onnx`);
  if (!options.force && existsSync(file)) return file;
  let graph;
  try {
    graph = readTfjsGraph(jsonPath);
  } catch (err) {
    throw new ModelSourceError(`face model "${id}" cannot be read: ${(err as Error).message}`, REINSTALL, jsonPath);
  }
  const bytes = convertTfjsGraph(graph, {
    graphName: id,
    outputs: spec.outputs,
    docString: `${spec.description}. Converted from @vladmandic/human (MIT) by affect-studio.`,
    metadata: { source: `@vladmandic/human/models/${id}.json`, converter_version: String(CONVERTER_VERSION) },
  });
  writeFileAtomic(file, bytes);
  return file;
}
