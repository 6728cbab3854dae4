/**
 * A worker thread running feature extractors (electron/engine/features/extractor-pool.ts), so that
 * their models run while the main thread decodes and tracks the next frames: ONNX Runtime's
 * `run` blocks the thread that calls it. It owns its own sessions. Batches are done in the order
 * they arrive.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../../../common/errors.js';
import { SessionFactory, type ExecutionProviderChoice } from '../onnx/sessions.js';
import { decodeFaces } from './cache.js';
import { runFrames, type FrameFaces } from './extractor.js';
import { createExtractors } from './registry.js';

export interface WorkerSetup {
  specs: string[];
  provider?: ExecutionProviderChoice;
  threads?: number;
  int8?: boolean;
}

/** One frame of a batch: its pixels (moved from the main thread) and its faces' geometry rows. */
export interface BatchFrame {
  frame: number;
  time: number;
  width: number;
  height: number;
  rgb: Uint8Array;
  /** faces × GEOMETRY_COLS (cache.ts), as the cache stores them. */
  geometry: Float32Array;
}

/** `extractors`: which of the worker's extractors to run (indices into its specs). */
export type ToWorker = { type: 'run'; id: number; extractors: number[]; frames: BatchFrame[] };

export type FromWorker =
  | { type: 'ready'; models: { label: string; provider: string }[]; extractors: ExtractorInfo[] }
  /** Per requested extractor: the vectors of every face of every frame, in order (faces × dim); and the frames' pixels, handed back for reuse. */
  | { type: 'done'; id: number; results: Float32Array[]; pixels: Uint8Array[] }
  | { type: 'error'; id?: number; error: SerialisedError };

/** What the main thread needs to know of an extractor that runs in a worker. */
export interface ExtractorInfo {
  id: string;
  version: string;
  variant?: string;
  description: string;
  dim: number;
  columns: string[];
  provider?: string;
}

export interface SerialisedError {
  user: boolean;
  name: string;
  message: string;
  hint?: string;
  file?: string;
  stack?: string;
}

export function serialiseError(err: unknown): SerialisedError {
  if (err instanceof UserError) return { user: true, name: err.name, message: err.message, hint: err.hint, file: err.file };
  const e = err instanceof Error ? err : new Error(String(err));
  return { user: false, name: e.name, message: e.message, stack: e.stack };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('extractor-worker must run in a worker thread');
  const setup = workerData as WorkerSetup;
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  let extractors;
  let sessions: SessionFactory;
  try {
    sessions = new SessionFactory({ provider: setup.provider, threads: setup.threads });
    extractors = await createExtractors(setup.specs, sessions, { int8: setup.int8 });
  } catch (err) {
    post({ type: 'error', error: serialiseError(err) });
    return;
  }
  const info = extractors.map((e) => ({ id: e.id, version: e.version, variant: e.variant, description: e.description, dim: e.dim, columns: e.columns, provider: e.provider }));
  post({ type: 'ready', models: sessions.models(), extractors: info });

  const batches: ToWorker[] = [];
  const extract = async (m: ToWorker): Promise<void> => {
    const items: FrameFaces[] = m.frames.map((f) => ({
      frame: { frame: f.frame, time: f.time, width: f.width, height: f.height, rgb: Buffer.from(f.rgb.buffer, f.rgb.byteOffset, f.rgb.byteLength) },
      faces: decodeFaces(f.geometry),
    }));
    const results: Float32Array[] = [];
    for (const e of m.extractors.map((i) => extractors[i])) {
      const vectors = (await runFrames(e, items)).flat();
      const flat = new Float32Array(vectors.length * e.dim);
      vectors.forEach((v, i) => flat.set(v, i * e.dim));
      results.push(flat);
    }
    const pixels = m.frames.map((f) => f.rgb);
    // a buffer named twice cannot be transferred: frames sent as views of one buffer share it
    post({ type: 'done', id: m.id, results, pixels }, [...new Set([...results, ...pixels].map((a) => a.buffer as ArrayBuffer))]);
  };
  // one batch at a time (extractors reuse their input buffers across awaits)
  let busy = false;
  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    for (let job = batches.shift(); job; job = batches.shift()) {
      try {
        await extract(job);
      } catch (err) {
        post({ type: 'error', id: job.id, error: serialiseError(err) });
      }
    }
    busy = false;
  };
  port.on('message', (m: ToWorker) => {
    batches.push(m);
    void pump();
  });
}

await main();
