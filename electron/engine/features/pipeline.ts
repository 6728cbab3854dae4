/**
 * The features pipeline for one video: decode → detect and track faces → align → extractors →
 * `<stem>.faces.csv` + `<stem>.features.npy` + `<stem>.features.json`, through the feature cache.
 *
 * Models are loaded once per pipeline and reused across the videos of a batch. Frames stream
 * through; everything per frame is written out as it is produced, so memory does not grow with
 * the length of the video.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
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
import { FacesCsvWriter, readFacesCsv, readFacesTable, type FaceRow } from './faces-table.js';
import { NpyWriter, readNpyHeader, readNpyRows } from '../../../models/data/npy.js';
import { createExtractors, DEFAULT_EXTRACTORS } from './registry.js';
import { ImageModelExtractor } from './image-model.js';

/** Bump when detection, tracking or alignment logic changes, so cached tracking runs are redone. */
export const TRACKING_VERSION = 1;
/** What the decoder warned about when the cached tracking run was made (a truncated file …). */
const DECODE_WARNINGS = 'decode-warnings.json';
/** Frames between appearance updates of a track (for re-identification). */
const REID_EVERY = 15;

/** Where models run; changes speed, not results. */
export interface RuntimeOptions {
  provider?: ExecutionProviderChoice;
  threads?: number;
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

export interface VideoFeaturesResult {
  file: string;
  outputs: { facesCsv: string; featuresNpy: string; meta: string };
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
  ) {}

  static async create(options: FeaturePipelineOptions): Promise<FeaturePipeline> {
    const sessions = new SessionFactory({ provider: options.provider, threads: options.threads });
    const detector = await FaceDetector.create(sessions, { minScore: options.face.minDetectionScore });
    const mesh = await FaceMesh.create(sessions);
    const extractors = await createExtractors(options.extractors ?? DEFAULT_EXTRACTORS, sessions);
    let identifier: ImageModelExtractor | undefined;
    if (options.face.reid) {
      const found = extractors.find((e) => e.id === 'faceres');
      identifier = (found as ImageModelExtractor | undefined) ?? ((await createExtractors(['faceres'], sessions))[0] as ImageModelExtractor);
    }
    const trackingKey = shortHash({
      v: TRACKING_VERSION,
      face: options.face,
      models: ['blazeface', 'facemesh', ...(identifier ? ['faceres'] : [])].map((id) => path.basename(ensureFaceModel(id as 'blazeface'))),
    });
    return new FeaturePipeline(options, sessions, extractors, detector, mesh, identifier, trackingKey);
  }

  /** The execution provider the models actually run on. */
  get provider(): string {
    return this.sessions.provider ?? 'none';
  }

  get columns(): string[] {
    return this.extractors.flatMap((e) => e.columns);
  }

  async run(file: string, run: RunOptions): Promise<VideoFeaturesResult> {
    const t0 = performance.now();
    const { tools } = this.options;
    const info = await probeVideo(file, tools.ffprobe);
    const sha256 = await fileSha256(file, run.signal);
    const cacheBase = this.options.cacheDir === false ? undefined : (this.options.cacheDir ?? path.join(cacheRoot(), 'features'));
    removeLeftovers(run.outDir, run.stem);
    const workDir = cacheBase ? undefined : path.join(run.outDir, `.${run.stem}.work-${process.pid}`);
    const entry = new CacheEntry(cacheBase ? path.join(cacheBase, sha256.slice(0, 16), this.trackingKey) : (workDir as string));
    const warnings: string[] = [];
    if (cacheBase !== undefined && entry.has('faces.csv')) {
      // a damaged entry would change features silently: check it, and recompute it if need be
      const files = ['faces.csv', 'geometry.npy', ...this.extractors.map((e) => extractorFile(e.id, e.version)).filter((f) => entry.has(f))];
      const problem = await entry.verify(files, run.signal);
      if (problem) {
        warnings.push(`feature cache entry ${entry.dir} was not used (${problem}); recomputed`);
        entry.discard();
      }
    }
    const cacheWarnings = [...warnings];
    const trackedNow = (): boolean => cacheBase !== undefined && entry.tracked;
    const missingNow = (tracked: boolean): FeatureExtractor[] => this.extractors.filter((e) => !tracked || !entry.has(extractorFile(e.id, e.version)));
    const haveTracking = trackedNow();
    const missing = missingNow(haveTracking);
    let frames = 0;

    try {
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
          frames = await this.process(info, staging, tracked ? entry : undefined, todo, run, warnings);
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
      const result = this.assemble(info, entry, run, sha256, warnings);
      return {
        ...result,
        frames: frames || result.frames,
        cache: !cacheBase ? 'disabled' : !haveTracking ? 'none' : missing.length ? 'partial' : 'full',
        seconds: (performance.now() - t0) / 1000,
      };
    } finally {
      if (workDir) rmSync(workDir, { recursive: true, force: true });
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
  ): Promise<number> {
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
    const writers = missing.map((e) => new NpyWriter(path.join(staging, extractorFile(e.id, e.version)), e.dim));
    const lastSeen = new Map<number, number>();
    let processed = 0;
    let lastTime = 0;
    try {
      for await (const frame of decoder) {
        let faces: FaceGeometry[];
        let rows: FaceRow[];
        if (tracker) {
          const found = await tracker.process(frame);
          // Extractors see the geometry as the cache stores it (float32), exactly what a later
          // replay of this entry gives them: features are then the same bytes whether computed
          // now or added later from the cache (merged shard outputs must match a single run).
          const tracked = found.map((f) => ({ ...f, ...decodeGeometry(encodeGeometry(f)) }));
          const vectors = await this.reidentify(tracker, frame, tracked, lastSeen, processed);
          faces = tracked;
          rows = tracked.map((f, i) => ({ frame: frame.frame, timestamp: frame.time, face: { faceId: f.faceId, box: f.box, score: f.score, keypoints: found[i].keypoints, roll: found[i].roll } }));
          for (const [i, writer] of writers.entries()) {
            const e = missing[i];
            const out = e === this.identifier && vectors ? vectors : await e.run(frame, faces);
            for (const v of out) writer.append(v);
          }
        } else {
          ({ rows, faces } = await (replay as TrackingReplay).take(frame.frame));
          for (const [i, writer] of writers.entries()) for (const v of await missing[i].run(frame, faces)) writer.append(v);
        }
        if (!faces.length) {
          for (const w of writers) w.append(undefined);
          rows = [{ frame: frame.frame, timestamp: frame.time }];
          facesCsv?.append(rows[0]);
          geometry?.append(undefined);
        } else if (facesCsv && geometry) {
          rows.forEach((r, i) => {
            facesCsv.append(scaleRow(r, toVideo));
            geometry.append(encodeGeometry(faces[i]));
          });
        }
        processed++;
        lastTime = frame.time;
        run.onProgress?.({ file: info.path, done: processed, total: Math.max(total, processed), time: lastTime, faces: faces.length });
      }
      warnings.push(...decoder.stats.warnings);
      // kept with the tracking run, so a video taken from the cache still says it was truncated
      if (!replayFrom) writeFileAtomic(path.join(staging, DECODE_WARNINGS), `${JSON.stringify(decoder.stats.warnings)}\n`);
      if (processed === 0) warnings.push('no frame fell within the chosen stride / time range');
      facesCsv?.close();
      geometry?.close();
      for (const w of writers) w.close();
      return processed;
    } catch (err) {
      facesCsv?.abandon();
      geometry?.abandon();
      for (const w of writers) w.abandon();
      throw err;
    }
  }

  /**
   * Computes descriptors where re-identification needs them (new tracks, and every REID_EVERY
   * frames of a track). When the descriptor is also a requested feature, all faces get one and the
   * vectors are returned for reuse.
   */
  private async reidentify(tracker: FaceTracker, frame: Frame, faces: TrackedFace[], lastSeen: Map<number, number>, index: number): Promise<Float32Array[] | undefined> {
    if (!this.identifier || !faces.length) return undefined;
    const wantAll = this.extractors.includes(this.identifier);
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
  private assemble(info: VideoInfo, entry: CacheEntry, run: RunOptions, sha256: string, warnings: string[]) {
    mkdirSync(run.outDir, { recursive: true });
    const facesCsv = path.join(run.outDir, `${run.stem}.faces.csv`);
    const featuresNpy = path.join(run.outDir, `${run.stem}.features.npy`);
    const meta = path.join(run.outDir, `${run.stem}.features.json`);
    const headers = this.extractors.map((e) => readNpyHeader(entry.path(extractorFile(e.id, e.version))));
    const rows = headers[0]?.rows ?? 0;
    headers.forEach((h, i) => {
      if (h.rows !== rows) throw new Error(`cache entry ${entry.dir}: ${this.extractors[i].id} has ${h.rows} rows, expected ${rows}; clear the cache folder`);
    });
    const tmpNpy = `${featuresNpy}.${process.pid}.tmp`;
    const facesText = readFileSync(entry.path('faces.csv'));
    // disk full half-way: no temporary file stays behind, and the error names the file
    try {
      const writer = new NpyWriter(tmpNpy, this.extractors.reduce((a, e) => a + e.dim, 0), 256);
      try {
        const CHUNK = 256;
        const row = new Float32Array(writer.cols);
        for (let start = 0; start < rows; start += CHUNK) {
          const n = Math.min(CHUNK, rows - start);
          const blocks = this.extractors.map((e, i) => readNpyRows(entry.path(extractorFile(e.id, e.version)), headers[i], start, n));
          for (let r = 0; r < n; r++) {
            let off = 0;
            blocks.forEach((b, i) => {
              row.set(b.subarray(r * headers[i].cols, (r + 1) * headers[i].cols), off);
              off += headers[i].cols;
            });
            writer.append(row);
          }
        }
        writer.close();
      } finally {
        writer.abandon();
      }
      writeFileAtomic(facesCsv, facesText);
      renameSync(tmpNpy, featuresNpy);
    } catch (err) {
      rmSync(tmpNpy, { force: true });
      throw storageError(err, featuresNpy);
    }

    const stats = summariseFaces(readFacesTable({ text: facesText }));
    const video = { codec: info.codec, width: info.width, height: info.height, fps: info.fps, variableFrameRate: info.variableFrameRate, durationSec: info.durationSec, rotation: info.rotation };
    const metaJson = {
      format: 'affect-studio features v1',
      video: { file: path.resolve(info.path), sha256, ...video },
      rows,
      rowsAlignWith: path.basename(facesCsv),
      noFaceRows: 'NaN',
      settings: this.options.face,
      executionProvider: this.provider,
      extractors: this.extractors.reduce<{ id: string; version: string; description: string; dim: number; offset: number }[]>((acc, e) => {
        const offset = acc.length ? acc[acc.length - 1].offset + acc[acc.length - 1].dim : 0;
        acc.push({ id: e.id, version: e.version, description: e.description, dim: e.dim, offset });
        return acc;
      }, []),
      columns: this.columns,
      warnings,
    };
    writeFileAtomic(meta, `${JSON.stringify(metaJson, null, 2)}\n`);
    return { file: info.path, outputs: { facesCsv, featuresNpy, meta }, video, sha256, frames: stats.frames, rows, faceRows: stats.faceRows, faceIds: stats.faceIds, warnings };
  }
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

function summariseFaces(rows: FaceRow[]): { frames: number; faceRows: number; faceIds: number[] } {
  const withFace = rows.filter((r) => r.face);
  return {
    frames: new Set(rows.map((r) => r.frame)).size,
    faceRows: withFace.length,
    faceIds: [...new Set(withFace.map((r) => r.face?.faceId as number))].sort((a, b) => a - b),
  };
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
