/**
 * A `predict` run over many videos: one prediction file per video, and `run.json` beside them
 * recording what ran (tool version, bundles and their hashes, execution provider, smoothing,
 * ensemble weights) and, per video, its timing, outcome and error. `run.json` is rewritten
 * atomically after every video, so a killed run can be resumed: finished videos are skipped,
 * unfinished ones redone.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../../common/node/storage.js';
import { describeError, UserError } from '../../../common/errors.js';
import { shortHash } from '../features/cache.js';
import type { VideoProgress } from '../features/pipeline.js';
import type { VideoInput } from '../jobs/inputs.js';
import { toolVersion } from '../../../common/node/version.js';
import { abawFile, predictionFileName, writePredictions, type PredictionFormat } from '../export/prediction-csv.js';
import type { Predictor } from './predictor.js';

export interface VideoRecord {
  file: string;
  status: 'done' | 'failed';
  output?: string;
  frames?: number;
  faceRows?: number;
  faceIds?: number[];
  seconds: number;
  /** Seconds in the features stage (decoding, faces, extractors) and in the temporal models. */
  timings?: { features: number; temporal: number };
  featuresFromCache?: string;
  error?: string;
  warnings?: string[];
}

export interface RunRecord {
  tool: string;
  version: string;
  started: string;
  updated: string;
  settingsKey: string;
  settings: Record<string, unknown>;
  executionProvider: string;
  bundles: Predictor['bundles'];
  auThresholds: number[];
  videos: Record<string, VideoRecord>;
}

export interface PredictJobEvents {
  onVideoStart?(video: VideoInput, index: number, total: number): void;
  onProgress?(p: VideoProgress): void;
  onVideoEnd?(video: VideoInput, record: VideoRecord, skipped: boolean): void;
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
  };
  const settingsKey = shortHash(settings);
  const runFile = path.join(outDir, runFileName);
  const previous = existsSync(runFile) ? (JSON.parse(readFileSync(runFile, 'utf8')) as RunRecord) : undefined;
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
  const save = () => {
    record.updated = new Date().toISOString();
    record.executionProvider = predictor.provider;
    writeFileAtomic(runFile, `${JSON.stringify(record, null, 2)}\n`);
  };
  save();

  for (const [i, video] of videos.entries()) {
    const output = path.join(outDir, predictionFileName(video.stem, format));
    const prior = record.videos[video.stem];
    if (options.resume && prior?.status === 'done' && prior.file === video.file && existsSync(output)) {
      events.onVideoEnd?.(video, prior, true);
      continue;
    }
    events.onVideoStart?.(video, i, videos.length);
    const t0 = performance.now();
    const workDir = path.join(workRoot, video.stem);
    let entry: VideoRecord;
    try {
      const { rows, features, timings } = await predictor.predict(video.file, { workDir, stem: video.stem, onProgress: events.onProgress, signal: options.signal });
      writePredictions(output, format, video.stem, rows, predictor.auThresholds, video.file);
      entry = {
        file: video.file, status: 'done', output: path.basename(output), frames: features.frames, faceRows: features.faceRows, faceIds: features.faceIds,
        seconds: (performance.now() - t0) / 1000, timings, featuresFromCache: features.cache, warnings: features.warnings,
      };
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      entry = { file: video.file, status: 'failed', seconds: (performance.now() - t0) / 1000, error: describeError(err) };
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
    record.videos[video.stem] = entry;
    save();
    events.onVideoEnd?.(video, entry, false);
  }
  rmSync(workRoot, { recursive: true, force: true });
  if (format === 'abaw' && options.combined !== false) writeCombinedAbaw(outDir, record);
  return record;
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
