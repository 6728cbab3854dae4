/**
 * Runs feature extractors in worker threads while the main thread goes on decoding and tracking.
 * ONNX Runtime's `run` blocks the calling thread, so with the extractors in the same thread as the
 * tracker one of two cores sat idle whenever the other ran a model; on a two-core machine a tracker
 * thread and an extractor thread, each running its models on one core, overlap instead.
 *
 * Frames are grouped into batches of consecutive frames (one model call for all their faces) and
 * dealt to the workers in turn; results are handed back strictly in frame order, whatever order the
 * workers finish in, so the features files are the same bytes as with the extractors in-process.
 * A frame's pixels move to the worker without a copy (the main thread is done with them once the
 * frame is tracked); the caller bounds how many frames wait, which bounds memory and makes the
 * decoder wait when the extractors fall behind.
 *
 * Each worker holds at most two batches (one running, one next); the rest wait here, and a caller
 * that would otherwise sit idle waiting for the workers runs the oldest of them itself (`help`).
 * Which thread ran a batch does not change its vectors (same models, same ONNX Runtime settings).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../../common/errors.js';
import type { ExecutionProviderChoice } from '../onnx/sessions.js';
import type { Frame } from '../video/decode.js';
import { decodeFaces, encodeGeometry, GEOMETRY_COLS } from './cache.js';
import { runFrames, type FaceGeometry, type FeatureExtractor, type FrameFaces } from './extractor.js';
import type { BatchFrame, ExtractorInfo, FromWorker, SerialisedError, ToWorker, WorkerSetup } from './extractor-worker.js';

/** Frames per batch: enough faces per model call to amortise it, little waiting at the end. */
export const BATCH_FRAMES = 8;

export interface ExtractorPoolOptions {
  specs: string[];
  workers: number;
  int8?: boolean;
  provider?: ExecutionProviderChoice;
  threads?: number;
}

/**
 * The compiled worker script. Tests run the TypeScript sources, where no .js sits beside this file:
 * they use the build's copy (`npm test` builds first).
 */
function workerScript(): URL {
  const beside = new URL('./extractor-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const here = fileURLToPath(import.meta.url);
  const repo = path.resolve(path.dirname(here), '../../..');
  const built = path.join(repo, 'dist', path.relative(repo, path.dirname(here)), 'extractor-worker.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\``);
  return pathToFileURL(built);
}

function deserialise(e: SerialisedError): Error {
  if (e.user) {
    const err = new UserError(e.message, e.hint, e.file);
    err.name = e.name;
    return err;
  }
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

interface Pending {
  resolve: (result: never) => void;
  reject: (err: Error) => void;
}

/**
 * The worker's young generation, capped. V8 grows a young generation (up to 32 MB here) once enough
 * objects have survived scavenges, and gives it back only after a full collection: the worker's
 * swung between 4 and 32 MB every minute or two, so a run's peak memory depended on where in that
 * cycle it ended — 10-minute trained run 419 MiB peak uncapped, 390 at 8 MB, same frames/s.
 */
const WORKER_YOUNG_GENERATION_MB = 8;

class ExtractorWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;
  readonly ready: Promise<{ models: { label: string; provider: string }[]; extractors: ExtractorInfo[] }>;

  constructor(setup: WorkerSetup) {
    this.worker = new Worker(workerScript(), { workerData: setup, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          resolve({ models: m.models, extractors: m.extractors });
          this.idle();
        } else if (m.type === 'done') {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          this.idle();
          p?.resolve({ results: m.results, pixels: m.pixels } as never);
        } else {
          const err = deserialise(m.error);
          if (m.id === undefined) return reject(err);
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          this.idle();
          p?.reject(err);
        }
      });
      const fail = (err: Error): void => {
        this.failure = err;
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      this.worker.on('error', fail);
      this.worker.on('exit', (code) => fail(new Error(`extractor worker stopped (exit code ${code})`)));
    });
    this.ready.catch(() => undefined); // observed by whoever awaits it
  }

  /** A worker with nothing to do must not keep a finished command alive; one with work must. */
  private idle(): void {
    if (!this.pending.size) this.worker.unref();
  }

  private send<T>(message: ToWorker, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.worker.ref();
      this.pending.set(message.id, { resolve: resolve as (r: never) => void, reject });
      this.worker.postMessage(message, transfer);
    });
  }

  run(id: number, extractors: number[], frames: BatchFrame[]): Promise<{ results: Float32Array[]; pixels: Uint8Array[] }> {
    // pixels in a buffer of their own are moved, not copied (a view into a larger buffer is copied)
    const transfer = frames.map((f) => f.rgb).filter((b) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer).map((b) => b.buffer as ArrayBuffer);
    return this.send({ type: 'run', id, extractors, frames }, transfer);
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** Vectors of each face of one frame, per extractor. */
export type FrameVectors = Float32Array[][];

interface Batch {
  extractors: number[];
  frames: BatchFrame[];
  done: ((v: FrameVectors) => void)[];
  fail: ((e: Error) => void)[];
}

/** Batches a worker holds at once: one running and the next queued, so it never waits for the main thread. */
export const IN_FLIGHT_PER_WORKER = 2;

export class ExtractorPool {
  private batch: Batch = { extractors: [], frames: [], done: [], fail: [] };
  /** Full batches no worker has taken yet: the next free worker takes the oldest, or this thread does (`help`). */
  private readonly queued: Batch[] = [];
  private readonly inFlight: number[];
  private nextId = 0;
  private local: FeatureExtractor[] | undefined;
  /** Where frames' pixels go once their batch is done (the decoder reuses them); dropped without one. */
  onPixelsDone: ((rgb: Uint8Array) => void) | undefined;

  private readonly dims: number[];

  private constructor(
    private readonly workers: ExtractorWorker[],
    /** Which provider each worker's models run on. */
    readonly models: { label: string; provider: string }[],
    /** What the workers' extractors are (ids, dims, columns), in the order of the specs. */
    readonly extractors: ExtractorInfo[],
  ) {
    this.dims = extractors.map((e) => e.dim);
    this.inFlight = workers.map(() => 0);
  }

  /** Starts the workers; resolves once every worker has loaded its models (a bad extractor is an error here). */
  static async create(o: ExtractorPoolOptions): Promise<ExtractorPool> {
    const workers = Array.from({ length: Math.max(1, o.workers) }, () => new ExtractorWorker({ specs: o.specs, provider: o.provider, threads: o.threads, int8: o.int8 }));
    try {
      const ready = await Promise.all(workers.map((w) => w.ready));
      return new ExtractorPool(workers, ready.flatMap((r) => r.models), ready[0].extractors);
    } catch (err) {
      await Promise.all(workers.map((w) => w.close()));
      throw err;
    }
  }

  /**
   * The same extractors, loaded in this thread, for `help`. They must compute what the workers'
   * do (same specs and variant): the vectors must not depend on which thread made them.
   */
  helpWith(local: FeatureExtractor[]): void {
    const mismatch = local.length !== this.extractors.length || local.some((e, i) => e.id !== this.extractors[i].id || e.version !== this.extractors[i].version || e.variant !== this.extractors[i].variant || e.dim !== this.extractors[i].dim);
    if (mismatch) throw new Error('internal: the extractors of this thread differ from the workers\'');
    this.local = local;
  }

  /**
   * Queues a frame's faces for the extractors `extractors` (indices into the specs); resolves, once
   * its batch is done, to the vectors of each face, per extractor. Call `flush` after the last frame.
   * The frame's pixels go to a worker, then to `onPixelsDone`: `frame.rgb` must not be used afterwards.
   */
  submit(frame: Frame, faces: FaceGeometry[], extractors: number[]): Promise<FrameVectors> {
    if (this.batch.frames.length && this.batch.extractors.join() !== extractors.join()) this.flush();
    this.batch.extractors = extractors;
    const geometry = new Float32Array(faces.length * GEOMETRY_COLS);
    faces.forEach((f, i) => geometry.set(encodeGeometry(f), i * GEOMETRY_COLS));
    const promise = new Promise<FrameVectors>((resolve, reject) => {
      this.batch.done.push(resolve);
      this.batch.fail.push(reject);
    });
    this.batch.frames.push({ frame: frame.frame, time: frame.time, width: frame.width, height: frame.height, rgb: frame.rgb, geometry });
    if (this.batch.frames.length >= BATCH_FRAMES) this.flush();
    return promise;
  }

  /** How many worker threads run the extractors. */
  get size(): number {
    return this.workers.length;
  }

  /** Full batches no worker has taken yet. */
  get waiting(): number {
    return this.queued.length;
  }

  /** Frames submitted but not sent to a worker yet (the batch being filled). */
  get unsent(): number {
    return this.batch.frames.length;
  }

  /** Ends the batch being filled (a partial batch at the end of a video); it goes to a worker when one is free. */
  flush(): void {
    if (!this.batch.frames.length) return;
    this.queued.push(this.batch);
    this.batch = { extractors: [], frames: [], done: [], fail: [] };
    this.dispatch();
  }

  /**
   * Runs the oldest batch no worker has taken, here in the calling thread — for a caller that
   * would otherwise wait idle for the workers (on two cores the tracking thread is often ahead of
   * the extractors' worker, or behind it: helping balances the two). False if there is none.
   */
  async help(): Promise<boolean> {
    const local = this.local;
    const batch = local && this.queued.shift();
    if (!local || !batch) return false;
    try {
      const items: FrameFaces[] = batch.frames.map((f) => ({ frame: { frame: f.frame, time: f.time, width: f.width, height: f.height, rgb: f.rgb as Frame['rgb'] }, faces: decodeFaces(f.geometry) }));
      const byExtractor: Float32Array[][][] = [];
      for (const e of batch.extractors) byExtractor.push(await runFrames(local[e], items));
      batch.done.forEach((done, k) => done(byExtractor.map((perFrame) => perFrame[k])));
    } catch (err) {
      batch.fail.forEach((f) => f(err as Error));
    }
    for (const f of batch.frames) this.onPixelsDone?.(f.rgb);
    return true;
  }

  /** Hands waiting batches to workers with room, the least busy first. */
  private dispatch(): void {
    while (this.queued.length) {
      let w = -1;
      this.inFlight.forEach((n, i) => {
        if (n < IN_FLIGHT_PER_WORKER && (w < 0 || n < this.inFlight[w])) w = i;
      });
      if (w < 0) return;
      this.send(w, this.queued.shift() as Batch);
    }
  }

  private send(w: number, { extractors, frames, done, fail }: Batch): void {
    this.inFlight[w]++;
    const counts = frames.map((f) => f.geometry.length / GEOMETRY_COLS);
    const dims = extractors.map((e) => this.dims[e]);
    this.workers[w].run(this.nextId++, extractors, frames).then(
      ({ results, pixels }) => {
        for (const rgb of pixels) this.onPixelsDone?.(rgb);
        let offset = 0;
        counts.forEach((n, k) => {
          done[k](results.map((flat, e) => Array.from({ length: n }, (_, i) => flat.slice((offset + i) * dims[e], (offset + i + 1) * dims[e]))));
          offset += n;
        });
      },
      (err: Error) => fail.forEach((f) => f(err)),
    ).finally(() => {
      this.inFlight[w]--;
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
