/**
 * The one API between the UI and the engine. Both transports — Electron IPC (through the preload)
 * and HTTP + WebSocket (web mode) — validate every request against these schemas and call the same
 * handlers. The renderer imports only types from here.
 */
import { z } from 'zod';

const id = z.string().min(1).max(200);
const path = z.string().min(1).max(4096);
const annotator = z.string().regex(/^[\p{L}\p{N}_.-]{1,64}$/u, 'letters, digits, ".", "-", "_" (at most 64)');
const seconds = z.number().finite().min(0);
const frames = z.number().int().min(0).max(10_000);

export const AnnotationOpSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('segment.add'), segment: z.object({ id, start: seconds, end: seconds, cls: z.number().int().min(0).max(7), source: z.enum(['human', 'model']).default('human'), confidence: z.number().min(0).max(1).optional() }) }),
  z.object({ type: z.literal('segment.remove'), id }),
  z.object({ type: z.literal('segment.update'), id, patch: z.object({ start: seconds.optional(), end: seconds.optional(), cls: z.number().int().min(0).max(7).optional() }) }),
  z.object({ type: z.literal('au.add'), range: z.object({ id, au: z.string().regex(/^AU\d{1,2}$/), start: seconds, end: seconds, intensity: z.number().int().min(0).max(5).optional(), source: z.enum(['human', 'model']).default('human'), confidence: z.number().min(0).max(1).optional() }) }),
  z.object({ type: z.literal('au.remove'), id }),
  z.object({ type: z.literal('trace.start'), trace: z.object({ id, dims: z.enum(['va', 'valence', 'arousal']), input: z.enum(['mouse', 'keyboard', 'gamepad', 'model']), started: z.string().max(40) }) }),
  z.object({ type: z.literal('trace.samples'), id, samples: z.array(z.tuple([seconds, z.number().min(-1).max(1), z.number().min(-1).max(1)])).max(10_000) }),
  z.object({ type: z.literal('trace.remove'), id }),
]);
export type AnnotationOp = z.infer<typeof AnnotationOpSchema>;

/** Request schemas, one per method. */
export const Requests = {
  'app.info': z.object({}),
  'fs.list': z.object({ path: path.optional() }),
  'dialog.openVideo': z.object({}),
  'dialog.openFolder': z.object({}),
  'videos.open': z.object({ path }),
  'videos.recent': z.object({}),
  'bundles.list': z.object({}),
  'runs.start': z.object({ videoId: id, bundles: z.array(z.string().min(1).max(4096)).max(8).default([]), weights: z.array(z.number().positive()).max(8).optional(), smoothing: z.object({ valence: frames.optional(), arousal: frames.optional() }).default({}) }),
  'runs.list': z.object({ videoId: id }),
  'runs.get': z.object({ runId: id }),
  'runs.import': z.object({ videoId: id, path }),
  'jobs.cancel': z.object({ jobId: id }),
  'annotations.list': z.object({ videoId: id }),
  'annotations.load': z.object({ videoId: id, annotator }),
  'annotations.apply': z.object({ videoId: id, annotator, ops: z.array(AnnotationOpSchema).min(1).max(1000) }),
  'annotations.prefill': z.object({ videoId: id, annotator, runId: id, minConfidence: z.number().min(0).max(1).default(0.6) }),
  'annotations.export': z.object({ videoId: id, annotator, dir: path }),
  'annotations.import': z.object({ videoId: id, annotator, dir: path }),
  'agreement.compute': z.object({
    videoId: id,
    runId: id.optional(),
    /** Leave out frames where the run's main face is turned further than this (degrees); needs runId. */
    poseFilter: z.object({ maxYaw: z.number().positive().max(180).optional(), maxPitch: z.number().positive().max(180).optional() })
      .refine((f) => f.maxYaw !== undefined || f.maxPitch !== undefined, 'give maxYaw and/or maxPitch').optional(),
  }).refine((r) => !r.poseFilter || r.runId !== undefined, { message: 'a pose filter needs a run (runId) whose head pose it uses', path: ['poseFilter'] }),
  'batch.add': z.object({ paths: z.array(path).min(1).max(1000) }),
  'batch.remove': z.object({ file: path }),
  'batch.state': z.object({}),
  'batch.start': z.object({ outDir: path, format: z.enum(['native', 'openface', 'abaw', 'pyfeat']).default('native'), bundles: z.array(z.string().min(1).max(4096)).max(8).default([]) }),
  'batch.pause': z.object({}),
  'batch.cancel': z.object({}),
  'train.presets': z.object({}),
  'train.state': z.object({}),
  'train.start': z.object({ preset: z.string().min(1).max(100), epochs: z.number().int().min(1).max(1000).optional(), name: z.string().regex(/^[\w.-]{1,64}$/).optional() }),
  'train.stop': z.object({}),
  'train.install': z.object({}),
} as const;

export type Method = keyof typeof Requests;
export type RequestOf<M extends Method> = z.input<(typeof Requests)[M]>;

export interface VideoSummary {
  videoId: string;
  path: string;
  name: string;
  /** URL the player loads the video from (the media protocol or the web server's /media route). */
  mediaUrl: string;
  width: number;
  height: number;
  fps: number;
  durationSec: number;
  frameCount: number;
  codec: string;
  variableFrameRate: boolean;
  /** Presentation time of every frame (seconds), for frame-accurate stepping. */
  frameTimes: number[];
}

export interface BundleSummary {
  ref: string;
  id: string;
  version: string;
  kind: string;
  description: string;
  trainedOn: string;
  isDefault: boolean;
}

export interface RunSummary {
  runId: string;
  videoId: string;
  created: string;
  source: 'model' | 'import';
  label: string;
}

/** Per-frame series of one face in a run; arrays are aligned with `frames`. */
export interface FaceSeries {
  faceId: number;
  frames: number[];
  times: number[];
  valence: (number | null)[];
  arousal: (number | null)[];
  /** frames × 8 probabilities, row-major (null rows when absent). */
  expression: number[] | null;
  /** frames × 12 probabilities, row-major. */
  au: number[] | null;
  /** frames × 4 (x, y, w, h) in video pixels, when the run knows the face boxes. */
  boxes: number[] | null;
  /**
   * frames × 3 head pitch, yaw, roll in degrees, row-major (OpenFace's pose_Rx, pose_Ry, pose_Rz, same
   * signs: pitch > 0 head down, yaw > 0 turned towards the image's left, roll > 0 tilted towards the
   * image's right); null entries where unknown, null when the run has no head pose.
   */
  pose: (number | null)[] | null;
  /** frames × 2 gaze angles x, y in degrees (OpenFace's gaze_angle_x, gaze_angle_y: x > 0 looking towards the image's right, y > 0 down). */
  gaze: (number | null)[] | null;
}

export interface RunData extends RunSummary {
  faces: FaceSeries[];
  auThresholds: number[];
}

export interface AnnotationDoc {
  format: 'affect-studio-annotation/1';
  video: { path: string; name: string };
  annotator: string;
  created: string;
  updated: string;
  segments: { id: string; start: number; end: number; cls: number; source: 'human' | 'model'; confidence?: number }[];
  aus: { id: string; au: string; start: number; end: number; intensity?: number; source: 'human' | 'model'; confidence?: number }[];
  traces: { id: string; dims: 'va' | 'valence' | 'arousal'; input: string; started: string; samples: [number, number, number][] }[];
}

export interface BatchItem {
  file: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  done: number;
  total: number;
  error?: string;
  output?: string;
}

export interface BatchState {
  items: BatchItem[];
  running: boolean;
  outDir?: string;
  format?: string;
}

export interface AgreementReport {
  annotators: string[];
  /** Between annotators, on valence and arousal traces resampled at the video's frames. */
  pairs: { a: string; b: string; cccValence: number | null; cccArousal: number | null; iccValence: number | null; iccArousal: number | null; expressionF1: number | null }[];
  /** The head-pose filter applied to every statistic, and how many of the video's frames it kept. */
  poseFilter?: { maxYaw: number | null; maxPitch: number | null; framesKept: number; framesDropped: number };
  /** Model (a run) against each annotator. */
  model?: { runId: string; versus: { annotator: string; cccValence: number | null; cccArousal: number | null; expressionF1: number | null; auF1: number | null }[] };
}

export interface TrainEpoch {
  epoch: number;
  loss: number;
  cccValence: number;
  cccArousal: number;
  f1Expression: number;
  f1Au: number;
  pMtl: number;
}

export interface TrainState {
  status: 'idle' | 'preparing' | 'training' | 'stopped' | 'done' | 'failed';
  preset?: string;
  run?: string;
  epoch?: number;
  epochs?: number;
  step?: number;
  steps?: number;
  loss?: number;
  history: TrainEpoch[];
  bundleDir?: string;
  error?: string;
  videos?: number;
}

export interface Responses {
  'app.info': { version: string; mode: 'electron' | 'web'; project: string; executionProviders: string[] };
  'fs.list': { path: string; parent: string | null; entries: { name: string; path: string; kind: 'dir' | 'video' | 'file' }[] };
  'dialog.openVideo': { path: string | null };
  'dialog.openFolder': { path: string | null };
  'videos.open': VideoSummary;
  'videos.recent': { path: string; name: string; opened: string }[];
  'bundles.list': BundleSummary[];
  'runs.start': { jobId: string };
  'runs.list': RunSummary[];
  'runs.get': RunData;
  'runs.import': RunSummary;
  'jobs.cancel': { cancelled: boolean };
  'annotations.list': string[];
  'annotations.load': AnnotationDoc;
  'annotations.apply': { updated: string };
  'annotations.prefill': AnnotationDoc;
  'annotations.export': { files: string[] };
  'annotations.import': AnnotationDoc;
  'agreement.compute': AgreementReport;
  'batch.add': BatchState;
  'batch.remove': BatchState;
  'batch.state': BatchState;
  'batch.start': BatchState;
  'batch.pause': BatchState;
  'batch.cancel': BatchState;
  'train.presets': { name: string; description: string }[];
  'train.state': TrainState;
  'train.start': TrainState;
  'train.stop': TrainState;
  'train.install': { ref: string };
}

/** Events the engine pushes to the UI. */
export interface Events {
  'job.progress': { jobId: string; done: number; total: number; stage: string };
  'job.done': { jobId: string; runId: string };
  'job.failed': { jobId: string; error: string; cancelled: boolean };
  'batch.changed': BatchState;
  'train.changed': TrainState;
}

export type EventName = keyof Events;

/** What an API error carries to the UI: a message a user can act on. */
export interface ApiErrorBody {
  error: string;
  hint?: string;
  file?: string;
}
