/**
 * `predict` for one video: features (through the cache) → face-track sequences → each bundle →
 * smoothing → ensemble → one prediction per face per frame, aligned with the faces table.
 * Everything streams: memory does not grow with the length of the video (predictRows).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labelsMatchAbaw, loadAnyBundle, type LoadedBundle } from '../../../models/bundle/manifest.js';
import { AUS } from '../../../common/labels.js';
import { UserError } from '../../../common/errors.js';
import { FeaturePipeline, type RuntimeOptions, type VideoFeaturesSummary, type VideoOptions, type VideoProgress } from '../features/pipeline.js';
import { readNpyRows, type NpyInfo } from '../../../models/data/npy.js';
import { rowsFromFiles, type FeatureFile } from '../../../models/data/feature-rows.js';
import { BundleRunner } from '../temporal/runner.js';
import { readFacesCsv } from '../features/faces-table.js';
import { SessionFactory } from '../onnx/sessions.js';
import { maxGapFrames, SequenceBuilder, type FaceRowRef } from '../../../models/temporal/sequences.js';
import { ensemble } from '../temporal/postprocess.js';
import type { PredictionWriter, TableSummary } from '../export/prediction-csv.js';
import { RowPredictionFile } from './row-predictions.js';

export interface PredictionRow {
  frame: number;
  timestamp: number;
  faceId?: number;
  faceScore?: number;
  /** The face's landmark box in video pixels (runs on videos, not on precomputed features). */
  box?: { x: number; y: number; w: number; h: number };
  /** Present when the frame has this face and the models predicted it. */
  valence?: number;
  arousal?: number;
  expression?: Float32Array;
  au?: Float32Array;
  /** OpenFace's pose_Tx, pose_Ty, pose_Tz (mm), pose_Rx, pose_Ry, pose_Rz (radians); absent without a face or a fit. */
  pose?: Float32Array;
  /** OpenFace's gaze_0_x … gaze_1_z, gaze_angle_x, gaze_angle_y; absent without a face, a fit, or when gaze is off. */
  gaze?: Float32Array;
}

/** One row of a faces table as predict reads it. */
export interface FaceRowInfo extends FaceRowRef {
  timestamp: number;
  faceScore?: number;
  box?: PredictionRow['box'];
}

/** A table of face rows, read in order as often as needed (a long video's table is streamed from its file each time). */
export type FaceRowSource = () => AsyncIterable<FaceRowInfo> | Iterable<FaceRowInfo>;

/** One extractor's columns in a features file: `dim` columns from `offset`. */
export interface FeatureBlock {
  id: string;
  dim: number;
  file: string;
  info: NpyInfo;
  offset: number;
}

/** Where predicted rows go: a prediction file writer, or an array. */
export type PredictionSink = Pick<PredictionWriter, 'begin' | 'write'>;

/** The feature blocks that carry head pose and gaze (electron/engine/features/pose-gaze.ts). */
export const POSE_EXTRACTOR = 'pose';
export const GAZE_EXTRACTOR = 'gaze';

export { DEFAULT_MAX_GAP_SECONDS } from '../../../models/temporal/sequences.js';

export interface PredictorOptions extends RuntimeOptions {
  /** Bundle folders, in ensemble order. */
  bundleDirs: string[];
  /** Ensemble weights (default: equal). */
  weights?: number[];
  /** Smoothing half-windows overriding every bundle's own (frames; 0 = off). */
  smoothing?: { valence?: number; arousal?: number };
  /** Longest absence (seconds) a face track bridges without restarting its sequence. */
  maxGapSeconds: number;
  /** How videos become features; absent: the predictor runs on precomputed features files only. */
  video?: Omit<VideoOptions, keyof RuntimeOptions>;
  /** Estimate eye gaze on videos (runs the iris model on every face: about as costly as the tracking). Default true. */
  gaze?: boolean;
}

export interface BundleInfo {
  id: string;
  version: string;
  kind: string;
  hash: string;
  dir: string;
  weight: number;
  smoothing: { valence: number; arousal: number };
  trainedOn: string;
}

export class Predictor {
  private constructor(
    readonly options: PredictorOptions,
    /** Absent when the predictor runs on precomputed features (no video decoding). */
    readonly features: FeaturePipeline | undefined,
    readonly runners: BundleRunner[],
    readonly bundles: BundleInfo[],
    /** Per-AU thresholds of the ensemble: the weighted mean of the members'. */
    readonly auThresholds: number[],
    private readonly sessions: SessionFactory,
  ) {}

  /** Which provider each model runs on (the face models, the extractors' workers, the bundles); fallbacks show. */
  modelProviders(): { label: string; provider: string }[] {
    return this.features ? this.features.modelProviders() : this.sessions.models();
  }

  static async create(options: PredictorOptions): Promise<Predictor> {
    if (!options.bundleDirs.length) throw new UserError('no model bundle to run', 'pass --bundle, or install one (affect-studio bundles)');
    const top = options.bundleDirs.map((dir) => loadAnyBundle(dir));
    const topWeights = options.weights ?? top.map(() => 1);
    if (topWeights.length !== top.length || topWeights.some((w) => !(w > 0))) {
      throw new UserError(`${topWeights.length} ensemble weights for ${top.length} bundles`, 'give one positive weight per bundle, in --bundle order');
    }
    // an ensemble bundle contributes its members, with its weights scaled by the one given to it
    const loaded: LoadedBundle[] = [];
    const weights: number[] = [];
    top.forEach((b, i) => {
      if ('members' in b) for (const m of b.members) loaded.push(m.bundle), weights.push(topWeights[i] * m.weight);
      else loaded.push(b), weights.push(topWeights[i]);
    });
    checkEnsemble(loaded);
    // every extractor any bundle needs, in first-seen order; user extractors by their manifest path
    const extractors: string[] = [];
    for (const b of loaded) {
      for (const e of b.manifest.features.extractors) {
        const spec = e.manifest ? path.resolve(b.dir, e.manifest) : e.id;
        if (!extractors.includes(spec)) extractors.push(spec);
      }
    }
    if (!options.video) {
      // features come from files: every bundle must read the same columns
      const first = loaded[0].manifest.features;
      for (const b of loaded) {
        if (b.manifest.features.dim !== first.dim) {
          throw new UserError(`bundles read different features (${b.manifest.features.dim} vs ${first.dim} values per frame)`, 'on precomputed features, ensemble only bundles trained on the same features', path.join(b.dir, 'bundle.json'));
        }
      }
    }
    // head pose always (it costs next to nothing), gaze unless turned off: they become CSV columns, not model inputs
    if (options.video) for (const id of [POSE_EXTRACTOR, ...(options.gaze === false ? [] : [GAZE_EXTRACTOR])]) if (!extractors.includes(id)) extractors.push(id);
    const features = options.video && await FeaturePipeline.create({ ...options.video, provider: options.provider, threads: options.threads, workers: options.workers, int8: options.int8, extractors });
    for (const b of features ? loaded : []) {
      for (const e of b.manifest.features.extractors) {
        const have = features?.extractors.find((x) => x.id === e.id);
        if (!have || have.version !== e.version || have.dim !== e.dim) {
          throw new UserError(`the bundle needs features "${e.id}" version ${e.version} (${e.dim} values); this installation's extractor is ${have ? `version ${have.version} (${have.dim} values)` : 'missing'}`,
            'use a bundle made for these features, or install the extractor it names', path.join(b.dir, 'bundle.json'));
        }
      }
    }
    const runners: BundleRunner[] = [];
    const sessions = features?.sessions ?? new SessionFactory({ provider: options.provider, threads: options.threads });
    for (const b of loaded) runners.push(await BundleRunner.open(b, sessions));
    const bundles = loaded.map((b, i) => ({
      id: b.manifest.id,
      version: b.manifest.version,
      kind: b.manifest.kind,
      hash: b.hash,
      dir: b.dir,
      weight: weights[i],
      smoothing: {
        valence: options.smoothing?.valence ?? b.manifest.postprocess.smoothing.valence,
        arousal: options.smoothing?.arousal ?? b.manifest.postprocess.smoothing.arousal,
      },
      trainedOn: b.manifest.provenance.trainedOn,
    }));
    const total = weights.reduce((a, b) => a + b, 0);
    // one ensemble bundle brings thresholds tuned for the ensemble; otherwise the members' weighted mean
    const auThresholds = top.length === 1 && 'members' in top[0] ? top[0].manifest.postprocess.auThresholds
      : AUS.map((_, j) => loaded.reduce((a, b, i) => a + (b.manifest.postprocess.auThresholds[j] * weights[i]) / total, 0));
    return new Predictor(options, features, runners, bundles, auThresholds, sessions);
  }

  get provider(): string {
    return this.runners[0]?.provider ?? 'none';
  }

  /**
   * Computes (or takes from the cache) the video's features, then predicts every face row and
   * hands the rows to `sink` in table order. The features are read from the cache entry's files
   * (no combined copy); the faces table is copied into `workDir` (returned as `facesCsv`).
   */
  async predict(file: string, run: { workDir: string; stem: string; onProgress?: (p: VideoProgress) => void; signal?: AbortSignal; lastVideo?: boolean }, sink: PredictionSink): Promise<{ features: VideoFeaturesSummary; table: TableSummary; facesCsv: string; fps: number; timings: { features: number; temporal: number } }> {
    if (!this.features) throw new Error('this predictor runs on precomputed features, not videos');
    const t0 = performance.now();
    const features = await this.features.open(file, { outDir: run.workDir, stem: run.stem, onProgress: run.onProgress, signal: run.signal });
    try {
      // No video follows: stop the extractor workers before the temporal pass. That gives their
      // memory back (~35 MiB) before the rows are read back, and with a worker left idle this
      // thread's young collections there sometimes promoted ~0.4 MB each (cause unknown; README,
      // Benchmark): the trained bundle's memory peak on hour-long videos.
      if (run.lastVideo) await this.features.close();
      const t1 = performance.now();
      const facesCsv = path.join(run.workDir, `${run.stem}.faces.csv`);
      mkdirSync(run.workDir, { recursive: true });
      copyFileSync(features.facesCsv, facesCsv);
      const fps = features.video.fps || 25;
      const source: FaceRowSource = () => faceRowsOfTable(features.facesCsv);
      const blocks = features.blocks.map((b) => ({ id: b.id, dim: b.dim, file: b.file, info: b.info, offset: 0 }));
      const table = await this.predictRows(source, blocks, maxGapFrames(this.options.maxGapSeconds, fps), { workDir: run.workDir, sink });
      const summary = { ...features.summary, frames: features.summary.frames || table.frames, rows: table.rows, faceRows: table.faceRows, faceIds: [...table.perFace.keys()].sort((a, b) => a - b) };
      // seconds spent finding faces and features (decoding included) vs running the temporal models
      return { features: summary, table, facesCsv, fps, timings: { features: (t1 - t0) / 1000, temporal: (performance.now() - t1) / 1000 } };
    } finally {
      features.release();
    }
  }

  /**
   * Runs the bundles over the face tracks of a table of rows and their features, in three passes
   * that each stream: the table (sequences, counts), the temporal models (segment by segment, into
   * one scratch file per bundle in `workDir`), and the rows again, in order, to `sink` with their
   * ensemble predictions, head pose and gaze. Returns what the first pass found.
   */
  async predictRows(source: FaceRowSource, blocks: FeatureBlock[], maxGapFrames: number, o: { workDir: string; sink: PredictionSink }): Promise<TableSummary> {
    const builder = new SequenceBuilder(maxGapFrames);
    const table: TableSummary = { rows: 0, frames: 0, faceFrames: 0, faceRows: 0, perFace: new Map() };
    let frame: number | undefined;
    let frameHasFace = false;
    for await (const r of source()) {
      builder.add(r);
      if (r.frame !== frame) {
        table.frames++;
        if (frameHasFace) table.faceFrames++;
        frame = r.frame;
        frameHasFace = false;
      }
      table.rows++;
      if (r.faceId !== undefined) {
        frameHasFace = true;
        table.faceRows++;
        table.perFace.set(r.faceId, (table.perFace.get(r.faceId) ?? 0) + 1);
      }
    }
    if (frameHasFace) table.faceFrames++;
    const sequences = builder.finish();

    mkdirSync(o.workDir, { recursive: true });
    const outputs: RowPredictionFile[] = [];
    try {
      for (const [i, runner] of this.runners.entries()) {
        const files = fileColumns(runner.bundle, blocks);
        const out = new RowPredictionFile(path.join(o.workDir, `predictions-${i}.f32`), table.rows, runner.bundle.manifest.tasks, this.bundles[i].smoothing, sequences);
        outputs.push(out);
        await runner.stream(sequences.map((s) => rowsFromFiles(files, s.rows)), (seg) => out.accept(seg));
        out.finish();
      }
      o.sink.begin(table);
      await this.emitRows(source, blocks, outputs, o.sink);
    } finally {
      for (const out of outputs) out.remove();
    }
    return table;
  }

  /** The last pass: rows in table order with the ensemble's predictions, head pose and gaze. */
  private async emitRows(source: FaceRowSource, blocks: FeatureBlock[], outputs: RowPredictionFile[], sink: PredictionSink): Promise<void> {
    const pose = blocks.find((b) => b.id === POSE_EXTRACTOR);
    const gaze = blocks.find((b) => b.id === GAZE_EXTRACTOR);
    const weights = this.bundles.map((b) => b.weight);
    let chunk: FaceRowInfo[] = [];
    let start = 0;
    const flush = (): void => {
      const n = chunk.length;
      const p = ensemble(outputs.map((out) => out.read(start, n)), weights);
      const poseRows = pose && readNpyRows(pose.file, pose.info, start, n);
      const gazeRows = gaze && readNpyRows(gaze.file, gaze.info, start, n);
      // NaN (no fit) leaves the field absent
      const take = (b: FeatureBlock, data: Float32Array, i: number): Float32Array | undefined => {
        const v = data.slice(i * b.info.cols + b.offset, i * b.info.cols + b.offset + b.dim);
        return v.every(Number.isFinite) ? v : undefined;
      };
      chunk.forEach((r, t) => {
        const row: PredictionRow = { frame: r.frame, timestamp: r.timestamp, faceId: r.faceId, faceScore: r.faceScore, box: r.box };
        if (r.faceId !== undefined) {
          if (p.valence) row.valence = p.valence[t];
          if (p.arousal) row.arousal = p.arousal[t];
          if (p.expression) row.expression = p.expression.slice(t * 8, (t + 1) * 8);
          if (p.au) row.au = p.au.slice(t * AUS.length, (t + 1) * AUS.length);
          if (pose && poseRows) row.pose = take(pose, poseRows, t);
          if (gaze && gazeRows) row.gaze = take(gaze, gazeRows, t);
        }
        sink.write(row);
      });
      start += n;
      chunk = [];
    };
    for await (const r of source()) {
      chunk.push(r);
      if (chunk.length === EMIT_CHUNK) flush();
    }
    if (chunk.length) flush();
  }

  /** predictRows on a table held in memory, returning the rows (validation sets, the app's runs). */
  async predictTable(rows: FaceRowInfo[], blocks: FeatureBlock[], maxGapFrames: number): Promise<PredictionRow[]> {
    const out: PredictionRow[] = [];
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'affect-studio-predict-'));
    try {
      await this.predictRows(() => rows, blocks, maxGapFrames, { workDir, sink: { begin() {}, write: (r) => out.push(r) } });
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
    return out;
  }
}

/**
 * Rows handed to the last pass at a time. Small on purpose: objects that live through two young-
 * generation collections move to the old generation, which V8 collects only once it has grown by
 * tens of MB — with chunks of 1024 rows, the end of a 60-minute video peaked ~80 MB of such garbage
 * above a short one.
 */
const EMIT_CHUNK = 128;

/** The rows of a faces table, streamed from its file. */
async function* faceRowsOfTable(file: string): AsyncGenerator<FaceRowInfo> {
  for await (const r of readFacesCsv(file)) yield { frame: r.frame, timestamp: r.timestamp, faceId: r.face?.faceId, faceScore: r.face?.score, box: r.face?.box };
}

/** Bundles can only be averaged when they predict the same labels. */
export function checkEnsemble(bundles: LoadedBundle[]): void {
  const first = bundles[0];
  for (const b of bundles) {
    if (!labelsMatchAbaw(b.manifest) || b.manifest.labels.expressions.join() !== first.manifest.labels.expressions.join() || b.manifest.labels.aus.join() !== first.manifest.labels.aus.join()) {
      throw new UserError(`cannot ensemble ${first.manifest.id} and ${b.manifest.id}: their label schemas differ (${b.manifest.labels.expressions.length} expressions, ${b.manifest.labels.aus.length} AUs vs ${first.manifest.labels.expressions.length}, ${first.manifest.labels.aus.length})`,
        'ensemble only bundles with the same labels', path.join(b.dir, 'bundle.json'));
    }
  }
}

/** The column blocks of a precomputed features file read by a bundle: its extractors, in order. */
export function precomputedBlocks(bundle: Pick<LoadedBundle, 'manifest'>, file: string, info: NpyInfo): FeatureBlock[] {
  let offset = 0;
  return bundle.manifest.features.extractors.map((e) => {
    const block = { id: e.id, dim: e.dim, file, info, offset };
    offset += e.dim;
    return block;
  });
}

/** The files and columns that make up a bundle's input, in the bundle's order. */
function fileColumns(bundle: LoadedBundle, blocks: FeatureBlock[]): FeatureFile[] {
  return bundle.manifest.features.extractors.map((e) => {
    const block = blocks.find((b) => b.id === e.id);
    if (!block) throw new Error(`features lack extractor ${e.id}`);
    if (block.dim !== e.dim) {
      throw new UserError(`features of "${e.id}" have ${block.dim} values per frame, the bundle expects ${e.dim}`, 'the features were made by another extractor version: clear the feature cache or use a matching bundle', path.join(bundle.dir, 'bundle.json'));
    }
    return { file: block.file, info: block.info, columns: [[block.offset, block.dim]] };
  });
}
