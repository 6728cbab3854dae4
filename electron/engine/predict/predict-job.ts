/**
 * A `predict` run over many videos: one prediction file per video, and `run.json` beside them
 * recording what ran (tool version, bundles and their hashes, execution provider, smoothing,
 * ensemble weights) and, per video, its timing, outcome and error. `run.json` is rewritten
 * atomically after every video, so a killed run can be resumed: finished videos are skipped,
 * unfinished ones redone.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { readJsonFile, writeFileAtomic } from '../../../common/node/storage.js';
import { describeError, UserError } from '../../../common/errors.js';
import { fileError, isStorageError } from '../../../common/node/fs-errors.js';
import { fileSha256, shortHash } from '../features/cache.js';
import type { VideoProgress } from '../features/pipeline.js';
import { assignStems, type VideoInput } from '../jobs/inputs.js';
import { toolVersion } from '../../../common/node/version.js';
import { abawFile, predictionFileName, predictionWriter, type PredictionFormat, type PredictionWriter } from '../export/prediction-csv.js';
import type { Predictor } from './predictor.js';
import { faceWarnings } from './video-warnings.js';

export interface VideoRecord {
  file: string;
  /** The video's content hash: `--resume` redoes a video whose content changed. */
  sha256?: string;
  status: 'done' | 'failed';
  output?: string;
  frames?: number;
  faceRows?: number;
  faceIds?: number[];
  /** Frames without a face (precomputed features: all-NaN rows). */
  noFaceFrames?: number;
  seconds: number;
  /** Seconds in the features stage (decoding, faces, extractors) and in the temporal models. */
  timings?: { features: number; temporal: number };
  featuresFromCache?: string;
  error?: string;
  warnings?: string[];
}

/** What every run record says about the run itself (predict's run.json, a shard's record). */
export interface RunHeader {
  tool: string;
  version: string;
  started: string;
  updated: string;
  settingsKey: string;
  settings: Record<string, unknown>;
  executionProvider: string;
  /** The provider each model ran on (a model that fell back to the CPU shows here). */
  models?: { label: string; provider: string }[];
}

export interface RunRecord extends RunHeader {
  bundles: Predictor['bundles'];
  auThresholds: number[];
  videos: Record<string, VideoRecord>;
}

export interface PredictJobEvents {
  onVideoStart?(video: VideoInput, index: number, total: number): void;
  onProgress?(p: VideoProgress): void;
  onVideoEnd?(video: VideoInput, record: VideoRecord, skipped: boolean): void;
  /** run.json could not be updated (disk full…): the run goes on; said once per distinct problem. */
  onRunFileError?(error: UserError): void;
}

export const RUN_FILE = 'run.json';
export const ABAW_COMBINED = 'predictions.abaw.txt';

export async function runPredictJob(
  predictor: Predictor,
  videos: VideoInput[],
  options: {
    outDir: string; format: PredictionFormat; resume: boolean; signal?: AbortSignal;
    /** Record file name in outDir (default run.json; a shard writes its own, see jobs/shards.ts). */
    runFile?: string;
    /** Scratch folder name in outDir, removed at the end: shards sharing outDir each need their own. */
    workFolder?: string;
    /** Write the combined ABAW file (default true; for shards the merge writes it from all of them). */
    combined?: boolean;
    /** More fields stored in the record (a shard's description). */
    extra?: Record<string, unknown>;
    /** The predictor serves no job after this one: it may stop its extractor workers after the last video's features. */
    lastJob?: boolean;
  },
  events: PredictJobEvents = {},
): Promise<RunRecord> {
  const { outDir, format } = options;
  const runFileName = options.runFile ?? RUN_FILE;
  const workRoot = path.join(outDir, options.workFolder ?? '.work');
  const settings = {
    format,
    bundles: predictor.bundles.map((b) => ({ id: b.id, version: b.version, hash: b.hash, weight: b.weight, smoothing: b.smoothing })),
    maxGapSeconds: predictor.options.maxGapSeconds,
    face: predictor.options.video?.face,
    gaze: predictor.options.gaze !== false,
    // the int8 variant gives other numbers: a resumed run must not mix them
    ...(predictor.options.int8 ? { int8: true } : {}),
  };
  const settingsKey = shortHash(settings);
  const runFile = path.join(outDir, runFileName);
  const previous = options.resume && existsSync(runFile) ? readRunRecord(runFile) : undefined;
  if (options.resume && previous && previous.settingsKey !== settingsKey) {
    throw new UserError(`${runFileName} there was made with other settings (bundles, smoothing, format or face settings)`, 'resume with the same settings, or use another --out folder', outDir);
  }
  const now = new Date().toISOString();
  const record: RunRecord = {
    tool: 'affect-studio',
    version: toolVersion(),
    started: options.resume && previous ? previous.started : now,
    updated: now,
    settingsKey,
    settings,
    executionProvider: predictor.provider,
    bundles: predictor.bundles,
    auThresholds: predictor.auThresholds,
    videos: options.resume && previous ? previous.videos : {},
    ...options.extra,
  };
  const write = () => {
    record.updated = new Date().toISOString();
    record.executionProvider = predictor.provider;
    record.models = predictor.modelProviders();
    writeFileAtomic(runFile, `${JSON.stringify(record, null, 2)}\n`);
  };
  // a run that cannot even start its record stops here; later failures are reported and the run goes on
  write();
  const reported = new Set<string>();
  const save = () => {
    try {
      write();
    } catch (err) {
      const e = fileError(err, runFile, 'write the run record');
      if (!reported.has(e.message)) events.onRunFileError?.(e);
      reported.add(e.message);
    }
  };

  const todo = avoidEarlierOutputs(videos, record);
  for (const [i, video] of todo.entries()) {
    const output = path.join(outDir, predictionFileName(video.stem, format));
    const prior = record.videos[video.stem];
    if (options.resume && prior?.status === 'done' && prior.file === video.file && existsSync(output) && await sameContent(video.file, prior.sha256, options.signal)) {
      events.onVideoEnd?.(video, prior, true);
      continue;
    }
    events.onVideoStart?.(video, i, videos.length);
    const t0 = performance.now();
    const workDir = path.join(workRoot, video.stem);
    let entry: VideoRecord;
    let writer: PredictionWriter | undefined;
    try {
      writer = predictionWriter(output, format, video.stem, predictor.auThresholds, video.file);
      const { features, table, timings } = await predictor.predict(video.file, { workDir, stem: video.stem, onProgress: events.onProgress, signal: options.signal, lastVideo: options.lastJob && i === todo.length - 1 }, writer);
      const formatWarnings = writer.finish();
      entry = {
        file: video.file, sha256: features.sha256, status: 'done', output: path.basename(output), frames: features.frames, faceRows: features.faceRows, faceIds: features.faceIds,
        seconds: (performance.now() - t0) / 1000, timings, featuresFromCache: features.cache,
        warnings: [...(video.renamed ? [video.renamed] : []), ...features.warnings, ...faceWarnings(table), ...formatWarnings],
      };
    } catch (err) {
      writer?.abandon();
      if ((err as Error).name === 'AbortError') throw err;
      // disk full or a read-only folder somewhere under --out: name the folder, not a bare errno
      const error = isStorageError(err) && !(err instanceof UserError) ? fileError(err, outDir, 'write the outputs of this video') : err;
      entry = { file: video.file, status: 'failed', seconds: (performance.now() - t0) / 1000, error: describeError(error), ...(video.renamed ? { warnings: [video.renamed] } : {}) };
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
    record.videos[video.stem] = entry;
    save();
    events.onVideoEnd?.(video, entry, false);
  }
  rmSync(workRoot, { recursive: true, force: true });
  if (format === 'abaw' && options.combined !== false) {
    try {
      writeCombinedAbaw(outDir, record);
    } catch (err) {
      events.onRunFileError?.(fileError(err, path.join(outDir, ABAW_COMBINED), 'write the combined ABAW file'));
    }
  }
  return record;
}

/** A run record from an earlier run; a damaged one is a clear error, not a SyntaxError. */
function readRunRecord(file: string): RunRecord {
  const r = readJsonFile(file, 'it is damaged: move it away (or delete it) and run again; without --resume the run starts over') as Partial<RunRecord> | null;
  if (!r || typeof r.videos !== 'object' || r.videos === null || typeof r.settingsKey !== 'string') {
    throw new UserError('is not a run record of affect-studio predict (no "videos" or "settingsKey")', 'move it away (or delete it) and run again', file);
  }
  return r as RunRecord;
}

/** Whether a video still has the content an earlier run recorded (no hash recorded: assume not). */
async function sameContent(file: string, sha256: string | undefined, signal?: AbortSignal): Promise<boolean> {
  if (!sha256) return false;
  try {
    return (await fileSha256(file, signal)) === sha256;
  } catch {
    return false; // unreadable now: redoing it reports why
  }
}

/**
 * Outputs of other files recorded in this folder's run.json keep their names: a video whose name
 * would overwrite one of them gets another (stated in its record's warnings).
 */
function avoidEarlierOutputs(videos: VideoInput[], record: RunRecord): VideoInput[] {
  const mine = new Set(videos.map((v) => v.file));
  const others = Object.entries(record.videos).filter(([, v]) => !mine.has(v.file)).map(([stem]) => stem);
  if (!others.length) return videos;
  const taken = new Set(others.map((s) => s.toLowerCase()));
  return videos.map((v) => {
    if (!taken.has(v.stem.toLowerCase())) return v;
    const inBatch = videos.filter((x) => x !== v).map((x) => x.stem);
    return assignStems([v.file], [...others, ...inBatch])[0];
  });
}

/** The challenge wants one file: the rows of every finished video, in video-name order. */
export function writeCombinedAbaw(outDir: string, record: Pick<RunRecord, 'videos'>): void {
  const lines: string[] = [];
  for (const stem of Object.keys(record.videos).sort()) {
    const v = record.videos[stem];
    if (v.status !== 'done' || !v.output) continue;
    lines.push(...readFileSync(path.join(outDir, v.output), 'utf8').trim().split('\n').slice(1));
  }
  writeFileAtomic(path.join(outDir, ABAW_COMBINED), abawFile(lines));
}
