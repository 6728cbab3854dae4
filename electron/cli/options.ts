/** Argument parsers and options shared by the CLI commands. */
import { accessSync, constants, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { EXECUTION_PROVIDERS, type ExecutionProviderChoice } from '../engine/onnx/sessions.js';
import type { RuntimeOptions, VideoOptions } from '../engine/features/pipeline.js';
import { DEFAULT_FACE_SETTINGS, resolveFaceSettings } from '../engine/features/face-settings.js';
import { resolveVideoTools } from '../engine/video/binaries.js';
import { UserError } from '../../common/errors.js';
import { collectVideos } from '../engine/jobs/inputs.js';
import type { ProgressSink } from './progress.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected seconds ≥ 0 (e.g. 12.5)');
  return n;
}

export function framesPerSecond(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected frames per second > 0');
  return n;
}

export function probability(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number between 0 and 1');
  return n;
}

/** --ep, --threads, --int8, --ffmpeg, --ffprobe: every command that runs models on video has them. */
export function addRuntimeOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--ep <provider>', 'where models run: auto tries the GPU (CUDA / DirectML / CoreML, then WebGPU) and falls back to the CPU (affect-studio doctor shows what works here)')
      .choices([...EXECUTION_PROVIDERS]).default('auto'))
    .option('--threads <n>', 'ONNX Runtime threads per model call (default: the cores left to each of the tracking and extractor threads; 1 on two cores)', positiveInt)
    .option('--workers <n>', 'worker threads running the feature extractors beside the tracking (default: 1 on two or three cores, 2 from four; 0: in the tracking thread)', nonNegativeInt)
    .option('--int8', 'run the expression and FaceRes networks quantised to 8 bits: 2× faster on the CPU, slightly different features (docs/features.md)')
    .option('--ffmpeg <path>', 'ffmpeg to decode with (default: $AFFECT_STUDIO_FFMPEG, else the bundled one)')
    .option('--ffprobe <path>', 'ffprobe to read video metadata with (default: $AFFECT_STUDIO_FFPROBE, else the bundled one)');
}

/** Flags about finding faces and cutting video, shared by `features` and `predict`. */
export interface FaceFlags {
  stride: number;
  start?: number;
  end?: number;
  maxSide: number;
  detectEvery: number;
  minDetectionScore: number;
  minFaceScore: number;
  maxFaces: number;
  reid: boolean;
  cache: string | boolean;
  ep: string;
  threads?: number;
  workers?: number;
  int8?: boolean;
  ffmpeg?: string;
  ffprobe?: string;
}

export function addFaceOptions(cmd: Command): Command {
  const d = DEFAULT_FACE_SETTINGS;
  return cmd
    .option('--stride <n>', 'process every n-th frame (frame numbers stay those of the full video)', positiveInt, d.stride)
    .option('--start <seconds>', 'skip frames before this time', seconds)
    .option('--end <seconds>', 'stop at this time', seconds)
    .option('--max-side <pixels>', 'downscale frames whose longer side exceeds this before finding faces (0: never)', nonNegativeInt, d.maxSide)
    .option('--detect-every <n>', 'run the face detector every n frames while faces are tracked (new faces are found within n frames)', positiveInt, d.detectEvery)
    .option('--min-detection-score <p>', 'detector confidence a face needs to start a track', probability, d.minDetectionScore)
    .option('--min-face-score <p>', 'landmark-model confidence needed to keep a face in a frame', probability, d.minFaceScore)
    .option('--max-faces <n>', 'keep at most n faces per frame, largest first (0: no limit)', nonNegativeInt, d.maxFaces)
    .option('--no-reid', 'do not re-identify faces that leave and come back (each return gets a new face_id)')
    .option('--cache <dir>', 'feature cache folder (default: $AFFECT_STUDIO_CACHE/features or the user cache folder)')
    .option('--no-cache', 'do not read or write the feature cache');
}

/** Runtime flags → where the models run. */
export function runtimeOptions(flags: Pick<FaceFlags, 'ep' | 'threads' | 'workers' | 'int8'>): RuntimeOptions {
  return { provider: flags.ep as ExecutionProviderChoice, threads: flags.threads, workers: flags.workers, int8: flags.int8 };
}

/** Face flags → how videos become faces and features, with the face settings resolved. */
export function videoOptions(flags: FaceFlags): Omit<VideoOptions, keyof RuntimeOptions> {
  return {
    tools: resolveVideoTools({ ffmpeg: flags.ffmpeg, ffprobe: flags.ffprobe }),
    face: resolveFaceSettings({
      stride: flags.stride, start: flags.start, end: flags.end, maxSide: flags.maxSide, detectEvery: flags.detectEvery,
      minDetectionScore: flags.minDetectionScore, minFaceScore: flags.minFaceScore, maxFaces: flags.maxFaces, reid: flags.reid,
    }),
    cacheDir: flags.cache === false ? false : typeof flags.cache === 'string' ? path.resolve(flags.cache) : undefined,
  };
}

/** Creates the output folder and proves it is writable before any work starts. */
export function ensureWritableDir(dir: string): string {
  const abs = path.resolve(dir);
  try {
    mkdirSync(abs, { recursive: true });
    accessSync(abs, constants.W_OK);
    const probe = path.join(abs, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    throw new UserError(`cannot write to the output folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'choose another --out folder, or fix its permissions', abs);
  }
  return abs;
}

/**
 * The videos among the command's inputs; inputs that are not videos are reported and left out.
 * Returns null (after saying so) when nothing is left to process.
 */
export function videosFromInputs(inputs: string[], progress: ProgressSink): ReturnType<typeof collectVideos> | null {
  const found = collectVideos(inputs);
  for (const p of found.problems) progress.log(`✗ ${p.path}: ${p.message}`);
  if (found.videos.length) return found;
  progress.log('nothing to do: no video files among the inputs');
  return null;
}
