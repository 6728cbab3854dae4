/**
 * The features pipeline for one video: decode → detect and track faces → align → extractors →
 * `<stem>.faces.csv` + `<stem>.features.npy` + `<stem>.features.json`, through the feature cache.
 *
 * Models are loaded once per pipeline and reused across the videos of a batch. Frames stream
 * through; everything per frame is written out as it is produced, so memory does not grow with
 * the length of the video.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureFaceModel } from '../../../models/pretrained/face-models.js';
import { cacheRoot, writeFileAtomic } from '../../../common/node/storage.js';
import { fileError, isStorageError } from '../../../common/node/fs-errors.js';
import { FaceDetector } from '../face/detector.js';
import { FaceMesh } from '../face/landmarks.js';
import { FaceTracker, type TrackedFace } from '../face/tracker.js';
import type { FaceSettings } from './face-settings.js';
import { SessionFactory, type ExecutionProviderChoice } from '../onnx/sessions.js';
import { VideoDecoder, type Frame } from '../video/decode.js';
import { probeVideo, type VideoInfo } from '../video/probe.js';
import type { VideoTools } from '../video/binaries.js';
import { CacheEntry, decodeGeometry, encodeGeometry, extractorFile, fileSha256, GEOMETRY_COLS, shortHash } from './cache.js';
import type { FaceGeometry, FeatureExtractor } from './extractor.js';
import { FacesCsvWriter, readFacesCsv, type FaceRow } from './faces-table.js';
import { NpyWriter, readNpyHeader, readNpyRows, type NpyInfo } from '../../../models/data/npy.js';
import { createExtractors, DEFAULT_EXTRACTORS } from './registry.js';
import { ImageModelExtractor } from './image-model.js';
import { BATCH_FRAMES, ExtractorPool, IN_FLIGHT_PER_WORKER, type FrameVectors } from './extractor-pool.js';

/** Bump when detection, tracking or alignment logic changes, so cached tracking runs are redone. */
export const TRACKING_VERSION = 1;
/** What the decoder warned about when the cached tracking run was made (a truncated file …). */
const DECODE_WARNINGS = 'decode-warnings.json';
/** Frames between appearance updates of a track (for re-identification). */
const REID_EVERY = 15;

/** Where models run; changes speed, not results. */
export interface RuntimeOptions {
  provider?: ExecutionProviderChoice;
  /** ONNX Runtime threads per model call (default: the cores left to each thread, see runtimeLayout). */
  threads?: number;
  /** Worker threads running the feature extractors beside the tracking thread; 0: all in one thread (default: runtimeLayout). */
  workers?: number;
  /** The extractors that have one run their int8 variant (faster; deviation in docs/features.md). */
  int8?: boolean;
}

/**
 * How the models share the cores unless told otherwise: extractors in worker threads beside the
 * tracking thread (none on one core, one on two or three, two from four), and ONNX Runtime's
 * threads per call sharing what is left. Measured on two cores: one thread per call with the extractors in a worker beat
 * two threads per call in one thread (the tracking and the extractors then overlap).
 */
export function runtimeLayout(o: RuntimeOptions, cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length)): { threads: number; workers: number } {
  // on one core a worker could only take turns with the tracking thread
  const workers = o.workers ?? (cores >= 4 ? 2 : cores >= 2 ? 1 : 0);
  return { workers, threads: o.threads ?? Math.max(1, Math.floor(cores / (1 + workers))) };
}

/** How videos become faces and features, all but which extractors. */
export interface VideoOptions extends RuntimeOptions {
  tools: VideoTools;
  /** Resolved at the edge (resolveFaceSettings); part of the cache key. */
  face: FaceSettings;
  /** Feature cache folder (default: the user cache folder); false disables the cache. */
  cacheDir?: string | false;
}

export interface FeaturePipelineOptions extends VideoOptions {
  extractors?: string[];
}

export interface VideoProgress {
  file: string;
  /** Frames processed so far. */
  done: number;
  /** Expected frames to process (from the container; an estimate for some files). */
  total: number;
  /** Presentation time of the last processed frame, seconds. */
  time: number;
  faces: number;
}

/** What became of one video: where its faces and features came from, and what the faces table holds. */
export interface VideoFeaturesSummary {
  file: string;
  video: Pick<VideoInfo, 'codec' | 'width' | 'height' | 'fps' | 'variableFrameRate' | 'durationSec' | 'rotation'>;
  sha256: string;
  /** Processed frames (after stride / time range). */
  frames: number;
  /** Rows of faces.csv / features.npy. */
  rows: number;
  faceRows: number;
  faceIds: number[];
  /** 'full': nothing recomputed; 'partial': tracking replayed from cache; 'none': everything computed. */
  cache: 'full' | 'partial' | 'none' | 'disabled';
  seconds: number;
  warnings: string[];
}

export interface VideoFeaturesResult extends VideoFeaturesSummary {
  outputs: { facesCsv: string; featuresNpy: string; meta: string };
}

/**
 * A video's faces and features where they lie (the cache entry, or a scratch entry without a
 * cache), readable until `release`. `summary`'s table counts are filled only when the tracking ran
 * now (0 otherwise): a reader that streams the table counts it itself.
 */
export interface OpenedFeatures {
  summary: VideoFeaturesSummary;
  video: VideoInfo;
  facesCsv: string;
  /** One file per extractor, in the pipeline's extractor order. */
  blocks: { id: string; version: string; variant?: string; description: string; dim: number; file: string; info: NpyInfo }[];
  release(): void;
}

export interface RunOptions {
  outDir: string;
  stem: string;
  onProgress?: (p: VideoProgress) => void;
  signal?: AbortSignal;
}

export class FeaturePipeline {
  private constructor(
    readonly options: FeaturePipelineOptions,
    readonly sessions: SessionFactory,
    readonly extractors: FeatureExtractor[],
    private readonly detector: FaceDetector,
    private readonly mesh: FaceMesh,
    private readonly identifier: ImageModelExtractor | undefined,
    private readonly trackingKey: string,
    private readonly layout: { threads: number; workers: number },
  ) {}

  private pool: ExtractorPool | undefined;
  /** The models a closed pool ran, still reported: the run's record lists every model that ran. */
  private closedPoolModels: { label: string; provider: string }[] = [];

  static async create(options: FeaturePipelineOptions): Promise<FeaturePipeline> {
    const layout = runtimeLayout(options);
    const specs = options.extractors ?? DEFAULT_EXTRACTORS;
    // the workers load their models while this thread loads its own
    const pool = layout.workers > 0 ? ExtractorPool.create({ specs, workers: layout.workers, provider: options.provider, threads: layout.threads, int8: options.int8 }) : undefined;
    pool?.catch(() => undefined); // awaited below, after this thread's models
    try {
      const sessions = new SessionFactory({ provider: options.provider, threads: layout.threads });
      const detector = await FaceDetector.create(sessions, { minScore: options.face.minDetectionScore });
      const mesh = await FaceMesh.create(sessions);
      // With workers this thread has the extractors too: it runs the batches the workers have
      // not taken yet whenever it would otherwise wait for them (ExtractorPool.help).
      const extractors = await createExtractors(specs, sessions, { int8: options.int8 });
      let identifier: ImageModelExtractor | undefined;
      if (options.face.reid) {
        // re-identification keeps the float descriptor: it decides face ids, which the cache's tracking shares
        const found = options.int8 ? undefined : extractors.find((e) => e.id === 'faceres');
        identifier = (found as ImageModelExtractor | undefined) ?? ((await createExtractors(['faceres'], sessions))[0] as ImageModelExtractor);
      }
      const trackingKey = shortHash({
        v: TRACKING_VERSION,
        face: options.face,
        models: ['blazeface', 'facemesh', ...(identifier ? ['faceres'] : [])].map((id) => path.basename(ensureFaceModel(id as 'blazeface'))),
      });
      const pipeline = new FeaturePipeline(options, sessions, extractors, detector, mesh, identifier, trackingKey, layout);
      pipeline.pool = await pool;
      pipeline.pool?.helpWith(extractors);
      return pipeline;
    } catch (err) {
      await (await pool?.catch(() => undefined))?.close();
      throw err;
    }
  }

  /** Which provider each model runs on, in this thread and in the extractors' workers (fallbacks show). */
  modelProviders(): { label: string; provider: string }[] {
    return [...this.sessions.models(), ...(this.pool?.models ?? this.closedPoolModels).map((m) => ({ ...m, label: `${m.label} (worker)` }))];
  }

  /**
   * Stops the extractors' worker threads (idle ones do not keep the process alive meanwhile).
   * Later videos still work: this thread then runs every extractor itself, with the same results.
   */
  async close(): Promise<void> {
    if (this.pool) this.closedPoolModels = this.pool.models;
    await this.pool?.close();
    this.pool = undefined;
  }

  /** The extractors' worker threads now running (0: none started, or closed). */
  get workers(): number {
    return this.pool?.size ?? 0;
  }

  /** The execution provider the models actually run on. */
  get provider(): string {
    return this.sessions.provider ?? 'none';
  }

  get columns(): string[] {
    return this.extractors.flatMap((e) => e.columns);
  }

  /** Computes (or takes from the cache) a video's faces and features, and writes the user-facing files. */
  async run(file: string, run: RunOptions): Promise<VideoFeaturesResult> {
    const opened = await this.open(file, run);
    try {
      return await this.assemble(opened, run);
    } finally {
      opened.release();
    }
  }

  /**
   * Computes (or finds in the cache) a video's faces and features and gives access to their files
   * until `release()`. Without a cache they live in a scratch folder in `run.outDir`.
   */
  async open(file: string, run: RunOptions): Promise<OpenedFeatures> {
    const t0 = performance.now();
    const { tools } = this.options;
    const info = await probeVideo(file, tools.ffprobe);
    const sha256 = await fileSha256(file, run.signal);
    const cacheBase = this.options.cacheDir === false ? undefined : (this.options.cacheDir ?? path.join(cacheRoot(), 'features'));
    removeLeftovers(run.outDir, run.stem);
    const workDir = cacheBase ? undefined : path.join(run.outDir, `.${run.stem}.work-${process.pid}`);
    // a scratch entry is deleted at the end of the run: checksums would guard nothing
    const entry = new CacheEntry(cacheBase ? path.join(cacheBase, sha256.slice(0, 16), this.trackingKey) : (workDir as string), { checksums: cacheBase !== undefined });
    const release = (): void => {
      if (workDir) rmSync(workDir, { recursive: true, force: true });
    };
    const warnings: string[] = [];
    try {
      if (cacheBase !== undefined && entry.has('faces.csv')) {
        // a damaged entry would change features silently: check it, and recompute it if need be
        const files = ['faces.csv', 'geometry.npy', ...this.extractors.map((e) => extractorFile(e)).filter((f) => entry.has(f))];
        const problem = await entry.verify(files, run.signal);
        if (problem) {
          warnings.push(`feature cache entry ${entry.dir} was not used (${problem}); recomputed`);
          entry.discard();
        }
      }
      const cacheWarnings = [...warnings];
      const trackedNow = (): boolean => cacheBase !== undefined && entry.tracked;
      const missingNow = (tracked: boolean): FeatureExtractor[] => this.extractors.filter((e) => !tracked || !entry.has(extractorFile(e)));
      const haveTracking = trackedNow();
      const missing = missingNow(haveTracking);
      let done: ProcessResult | undefined;

      // Another process sharing the cache may make the same entry meanwhile; its files win (see
      // CacheEntry), and whatever it lacks is then added by replaying its tracking. Twice is the
      // most that can be needed; the bound only guards against a cache folder being tampered with.
      let tracked = haveTracking;
      let todo = missing;
      for (let attempt = 1; !tracked || todo.length; attempt++) {
        if (attempt > 3) throw new Error(`the feature cache entry ${entry.dir} keeps changing while this run writes it; clear it, or run with --no-cache`);
        warnings.splice(0, warnings.length, ...cacheWarnings);
        const staging = entry.stage();
        try {
          done = await this.process(info, staging, tracked ? entry : undefined, todo, run, warnings);
          await entry.commit(staging, !tracked);
        } catch (err) {
          rmSync(staging, { recursive: true, force: true });
          throw storageError(err, staging);
        }
        if (!cacheBase) break;
        tracked = trackedNow();
        todo = missingNow(tracked);
      }
      if (haveTracking && !missing.length && entry.has(DECODE_WARNINGS)) warnings.push(...(JSON.parse(readFileSync(entry.path(DECODE_WARNINGS), 'utf8')) as string[]));
      const blocks = this.extractors.map((e) => {
        const f = entry.path(extractorFile(e));
        return { id: e.id, version: e.version, variant: e.variant, description: e.description, dim: e.dim, file: f, info: readNpyHeader(f) };
      });
      const rows = blocks[0]?.info.rows ?? 0;
      blocks.forEach((b) => {
        if (b.info.rows !== rows) throw new Error(`cache entry ${entry.dir}: ${b.id} has ${b.info.rows} rows, expected ${rows}; clear the cache folder`);
      });
      const table = done?.table;
      const summary: VideoFeaturesSummary = {
        file: info.path, video: videoFields(info), sha256,
        frames: done?.frames ?? 0, rows, faceRows: table?.faceRows ?? 0, faceIds: table ? [...table.faceIds].sort((a, b) => a - b) : [],
        cache: !cacheBase ? 'disabled' : !haveTracking ? 'none' : missing.length ? 'partial' : 'full',
        seconds: (performance.now() - t0) / 1000,
        warnings,
      };
      return { summary, video: info, facesCsv: entry.path('faces.csv'), blocks, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Decodes the video and writes tracking (unless replayed) and the missing extractors' files into `staging`. */
  private async process(
    info: VideoInfo,
    staging: string,
    replayFrom: CacheEntry | undefined,
    missing: FeatureExtractor[],
    run: RunOptions,
    warnings: string[],
  ): Promise<ProcessResult> {
    const o = this.options;
    const f = o.face;
    const decoder = new VideoDecoder(info, { ffmpeg: o.tools.ffmpeg, ffprobe: o.tools.ffprobe, stride: f.stride, start: f.start ?? undefined, end: f.end ?? undefined, maxSide: f.maxSide, signal: run.signal });
    // Landmarks come back in decoded-frame pixels; report them in the video's own pixels.
    const toVideo = info.width / decoder.width;
    const total = expectedFrames(info, f);
    const tracker = replayFrom ? undefined : new FaceTracker(this.detector, this.mesh, { detectEvery: f.detectEvery, minFaceScore: f.minFaceScore, maxFaces: f.maxFaces });
    const replay = replayFrom ? new TrackingReplay(replayFrom) : undefined;
    const facesCsv = replayFrom ? undefined : new FacesCsvWriter(path.join(staging, 'faces.csv'));
    const geometry = replayFrom ? undefined : new NpyWriter(path.join(staging, 'geometry.npy'), GEOMETRY_COLS);
    const writers = missing.map((e) => new NpyWriter(path.join(staging, extractorFile(e)), e.dim));
    const lastSeen = new Map<number, number>();
    const table = { faceRows: 0, faceIds: new Set<number>() };
    let processed = 0;
    let lastTime = 0;
    // Extractor vectors of the frames so far, written in frame order as they become ready: from
    // the workers (while this thread tracks the next frames), or computed here with workers: 0.
    const pool = missing.length ? this.pool : undefined;
    const which = missing.map((e) => this.extractors.indexOf(e));
    const queue: (Promise<FrameVectors> | FrameVectors | undefined)[] = [];
    // room for the batches the workers hold and one more, which this thread may take (help)
    const maxQueued = BATCH_FRAMES * (IN_FLIGHT_PER_WORKER * this.layout.workers + 1);
    const ready = new WeakSet<Promise<FrameVectors>>();
    let submitted = 0; // pool frames in the queue
    const drain = async (keep: number): Promise<void> => {
      while (queue.length > keep) {
        const head = queue.shift();
        if (head instanceof Promise && pool) {
          // the oldest frame may still wait in a batch not sent yet (frames without a face fill the queue, not batches)
          if (submitted <= pool.unsent) pool.flush();
          submitted--;
          // rather than wait idle for the workers, run batches none of them has taken yet; a
          // worker's answer arrives as an event, so let one through between batches
          for (;;) {
            if (ready.has(head)) break;
            // nothing waits for a worker: the batch being filled is work for this thread too
            if (!pool.waiting && pool.unsent) pool.flush();
            if (!(await pool.help())) break;
            await new Promise(setImmediate);
          }
        }
        const vectors = await head;
        if (!vectors) for (const w of writers) w.append(undefined);
        else vectors.forEach((perFace, i) => perFace.forEach((v) => writers[i].append(v)));
      }
    };
    // true when the frame's pixels went to the pool (which hands them back to the decoder itself)
    const extract = async (frame: Frame, faces: FaceGeometry[], reused?: Float32Array[]): Promise<boolean> => {
      if (!writers.length) return false;
      let handedOver = false;
      if (!faces.length) queue.push(undefined);
      else if (pool) {
        const vectors = pool.submit(frame, faces, which);
        vectors.then(() => ready.add(vectors), () => undefined); // a failure surfaces where it is awaited, or not at all after an earlier one
        queue.push(vectors);
        submitted++;
        handedOver = true;
      }
      else {
        const vectors: FrameVectors = [];
        for (const e of missing) vectors.push(e === this.identifier && reused ? reused : await e.run(frame, faces));
        queue.push(vectors);
      }
      await drain(maxQueued);
      return handedOver;
    };
    if (pool) pool.onPixelsDone = (rgb) => decoder.recycle(rgb);
    try {
      for await (const frame of decoder) {
        let faces: FaceGeometry[];
        let rows: FaceRow[];
        let handedOver: boolean;
        if (tracker) {
          const found = await tracker.process(frame);
          // Extractors see the geometry as the cache stores it (float32), exactly what a later
          // replay of this entry gives them: features are then the same bytes whether computed
          // now or added later from the cache (merged shard outputs must match a single run).
          const tracked = found.map((f) => ({ ...f, ...decodeGeometry(encodeGeometry(f)) }));
          // in-process, the descriptors made for re-identification serve as features too
          const vectors = await this.reidentify(tracker, frame, tracked, lastSeen, processed, !pool && missing.includes(this.identifier as FeatureExtractor));
          faces = tracked;
          rows = tracked.map((f, i) => ({ frame: frame.frame, timestamp: frame.time, face: { faceId: f.faceId, box: f.box, score: f.score, keypoints: found[i].keypoints, roll: found[i].roll } }));
          handedOver = await extract(frame, faces, vectors);
        } else {
          ({ rows, faces } = await (replay as TrackingReplay).take(frame.frame));
          handedOver = await extract(frame, faces);
        }
        // done with the pixels here: the decoder fills them again
        if (!handedOver) decoder.recycle(frame.rgb);
        if (!faces.length) {
          rows = [{ frame: frame.frame, timestamp: frame.time }];
          facesCsv?.append(rows[0]);
          geometry?.append(undefined);
        } else if (facesCsv && geometry) {
          rows.forEach((r, i) => {
            facesCsv.append(scaleRow(r, toVideo));
            geometry.append(encodeGeometry(faces[i]));
          });
        }
        for (const r of rows) {
          if (!r.face) continue;
          table.faceRows++;
          table.faceIds.add(r.face.faceId);
        }
        processed++;
        lastTime = frame.time;
        run.onProgress?.({ file: info.path, done: processed, total: Math.max(total, processed), time: lastTime, faces: faces.length });
      }
      pool?.flush();
      await drain(0);
      warnings.push(...decoder.stats.warnings);
      // kept with the tracking run, so a video taken from the cache still says it was truncated
      if (!replayFrom) writeFileAtomic(path.join(staging, DECODE_WARNINGS), `${JSON.stringify(decoder.stats.warnings)}\n`);
      if (processed === 0) warnings.push('no frame fell within the chosen stride / time range');
      facesCsv?.close();
      geometry?.close();
      for (const w of writers) w.close();
      return { frames: processed, table };
    } catch (err) {
      facesCsv?.abandon();
      geometry?.abandon();
      for (const w of writers) w.abandon();
      throw err;
    } finally {
      if (pool) pool.onPixelsDone = undefined; // the pool serves the next video's decoder
    }
  }

  /**
   * Computes descriptors where re-identification needs them (new tracks, and every REID_EVERY
   * frames of a track). When the descriptor is also a requested feature, all faces get one and the
   * vectors are returned for reuse.
   */
  private async reidentify(tracker: FaceTracker, frame: Frame, faces: TrackedFace[], lastSeen: Map<number, number>, index: number, wantAll: boolean): Promise<Float32Array[] | undefined> {
    if (!this.identifier || !faces.length) return undefined;
    const due = faces.filter((f) => f.isNew || index - (lastSeen.get(f.faceId) ?? -Infinity) >= REID_EVERY);
    if (!due.length && !wantAll) return undefined;
    const targets = wantAll ? faces : due;
    const vectors = await this.identifier.run(frame, targets);
    targets.forEach((f, i) => {
      if (!due.includes(f)) return;
      const id = tracker.observe(f.faceId, vectors[i], f.isNew);
      f.faceId = id;
      lastSeen.set(id, index);
    });
    return wantAll ? vectors : undefined;
  }

  /** Writes the user-facing files from a complete cache entry. */
  private async assemble(opened: OpenedFeatures, run: RunOptions): Promise<VideoFeaturesResult> {
    const { blocks, summary } = opened;
    mkdirSync(run.outDir, { recursive: true });
    const facesCsv = path.join(run.outDir, `${run.stem}.faces.csv`);
    const featuresNpy = path.join(run.outDir, `${run.stem}.features.npy`);
    const meta = path.join(run.outDir, `${run.stem}.features.json`);
    const rows = summary.rows;
    const tmpNpy = `${featuresNpy}.${process.pid}.tmp`;
    const tmpCsv = `${facesCsv}.${process.pid}.tmp`;
    // disk full half-way: no temporary file stays behind, and the error names the file
    try {
      const writer = new NpyWriter(tmpNpy, blocks.reduce((a, b) => a + b.dim, 0), 256);
      try {
        const CHUNK = 256;
        const row = new Float32Array(writer.cols);
        for (let start = 0; start < rows; start += CHUNK) {
          const n = Math.min(CHUNK, rows - start);
          const data = blocks.map((b) => readNpyRows(b.file, b.info, start, n));
          for (let r = 0; r < n; r++) {
            let off = 0;
            data.forEach((d, i) => {
              row.set(d.subarray(r * blocks[i].info.cols, (r + 1) * blocks[i].info.cols), off);
              off += blocks[i].info.cols;
            });
            writer.append(row);
          }
        }
        writer.close();
      } finally {
        writer.abandon();
      }
      copyFileSync(opened.facesCsv, tmpCsv);
      renameSync(tmpCsv, facesCsv);
      renameSync(tmpNpy, featuresNpy);
    } catch (err) {
      rmSync(tmpNpy, { force: true });
      rmSync(tmpCsv, { force: true });
      throw storageError(err, featuresNpy);
    }

    const stats = await summariseFaces(readFacesCsv(opened.facesCsv));
    const metaJson = {
      format: 'affect-studio features v1',
      video: { file: path.resolve(opened.video.path), sha256: summary.sha256, ...summary.video },
      rows,
      rowsAlignWith: path.basename(facesCsv),
      noFaceRows: 'NaN',
      settings: this.options.face,
      executionProvider: this.provider,
      models: this.modelProviders(),
      extractors: blocks.reduce<{ id: string; version: string; variant?: string; description: string; dim: number; offset: number }[]>((acc, e) => {
        const offset = acc.length ? acc[acc.length - 1].offset + acc[acc.length - 1].dim : 0;
        acc.push({ id: e.id, version: e.version, ...(e.variant ? { variant: e.variant } : {}), description: e.description, dim: e.dim, offset });
        return acc;
      }, []),
      columns: this.columns,
      warnings: summary.warnings,
    };
    writeFileAtomic(meta, `${JSON.stringify(metaJson, null, 2)}\n`);
    return { ...summary, outputs: { facesCsv, featuresNpy, meta }, frames: summary.frames || stats.frames, faceRows: stats.faceRows, faceIds: stats.faceIds };
  }
}

interface ProcessResult {
  frames: number;
  table: { faceRows: number; faceIds: Set<number> };
}

function videoFields(info: VideoInfo): VideoFeaturesSummary['video'] {
  return { codec: info.codec, width: info.width, height: info.height, fps: info.fps, variableFrameRate: info.variableFrameRate, durationSec: info.durationSec, rotation: info.rotation };
}

/** A disk-full or permission failure as one line naming `file`; other errors pass unchanged. */
function storageError(err: unknown, file: string): unknown {
  return isStorageError(err) ? fileError(err, file, 'write') : err;
}

/** Temporary files a killed run left in the output folder for this video (never a finished output). */
function removeLeftovers(outDir: string, stem: string): void {
  if (!existsSync(outDir)) return;
  for (const name of readdirSync(outDir)) {
    if (name.startsWith(`.${stem}.work-`) || (name.startsWith(`${stem}.`) && name.endsWith('.tmp'))) rmSync(path.join(outDir, name), { recursive: true, force: true });
  }
}

function expectedFrames(info: VideoInfo, f: FaceSettings): number {
  const span = Math.max(0, Math.min(f.end ?? Infinity, info.durationSec || Infinity) - (f.start ?? 0));
  const inRange = Number.isFinite(span) && (f.start !== null || f.end !== null) ? Math.round(span * info.fps) : info.frameCount;
  return Math.max(1, Math.ceil(inRange / f.stride));
}

function scaleRow(row: FaceRow, s: number): FaceRow {
  if (!row.face || s === 1) return row;
  const f = row.face;
  return {
    ...row,
    face: { ...f, box: { x: f.box.x * s, y: f.box.y * s, w: f.box.w * s, h: f.box.h * s }, keypoints: f.keypoints.map(([x, y]) => [x * s, y * s]) },
  };
}

/** Frames, face rows and face ids of a faces table, read as it streams. */
async function summariseFaces(rows: AsyncIterable<FaceRow>): Promise<{ frames: number; faceRows: number; faceIds: number[] }> {
  let frames = 0;
  let last: number | undefined;
  let faceRows = 0;
  const ids = new Set<number>();
  for await (const r of rows) {
    if (r.frame !== last) frames++;
    last = r.frame;
    if (!r.face) continue;
    faceRows++;
    ids.add(r.face.faceId);
  }
  return { frames, faceRows, faceIds: [...ids].sort((a, b) => a - b) };
}

/**
 * Replays a cached tracking run frame by frame: the rows of faces.csv with their full-precision
 * geometry, so new extractors see exactly the faces the cached ones saw.
 */
class TrackingReplay {
  private readonly rows: AsyncGenerator<FaceRow>;
  private readonly geoFile: string;
  private readonly header: ReturnType<typeof readNpyHeader>;
  private index = 0;
  private ahead: FaceRow | undefined;

  constructor(entry: CacheEntry) {
    this.rows = readFacesCsv(entry.path('faces.csv'));
    this.geoFile = entry.path('geometry.npy');
    this.header = readNpyHeader(this.geoFile);
  }

  private async next(): Promise<FaceRow | undefined> {
    if (this.ahead) {
      const r = this.ahead;
      this.ahead = undefined;
      return r;
    }
    const it = await this.rows.next();
    return it.done ? undefined : it.value;
  }

  /** The rows (consecutive in faces.csv) of one frame and the geometry of its faces. */
  async take(frame: number): Promise<{ rows: FaceRow[]; faces: FaceGeometry[] }> {
    const rows: FaceRow[] = [];
    const faces: FaceGeometry[] = [];
    for (let row = await this.next(); row; row = await this.next()) {
      if (row.frame !== frame) {
        this.ahead = row;
        break;
      }
      rows.push(row);
      if (row.face) faces.push(decodeGeometry(readNpyRows(this.geoFile, this.header, this.index, 1)));
      this.index++;
    }
    if (!rows.length) throw new Error(`cached tracking does not match the video at frame ${frame}; clear the feature cache (${path.dirname(this.geoFile)})`);
    return { rows, faces };
  }
}
