/**
 * The one API between the UI and the engine. Both transports — Electron IPC (through the preload)
 * and HTTP + WebSocket (web mode) — validate every request against these schemas and call the same
 * handlers. The renderer imports only types from here.
 */
import { z } from 'zod';
import { AnnotationOpSchema, type AnnotationDoc } from '../../common/annotations.js';
import type { AgreementReport } from '../../common/agreement.js';
import type { MergeProposal } from '../../common/annotation-merge.js';
import type { BatchState, TrainState } from '../../common/job-states.js';
import type { RunData, RunSummary } from '../../common/run-data.js';
import { SAFE_ID, SAFE_ID_RULE } from '../../common/ids.js';

export type { AnnotationDoc, AnnotationOp } from '../../common/annotations.js';
export type { AgreementReport } from '../../common/agreement.js';
/** What a pre-fill or an import would add to an annotator's tier (defined beside the merge rule that makes it). */
export type { MergeProposal } from '../../common/annotation-merge.js';
export type { BatchItem, BatchState, TrainEpoch, TrainState } from '../../common/job-states.js';
export type { FaceSeries, RunData, RunSummary } from '../../common/run-data.js';

// ids become file names in the project: never paths (common/ids.ts)
const id = z.string().min(1).max(200).regex(SAFE_ID, SAFE_ID_RULE);
const path = z.string().min(1).max(4096).refine((p) => !p.includes('\0'), 'must not contain NUL characters');
const annotator = z.string().min(1).max(64).regex(SAFE_ID, `${SAFE_ID_RULE} (at most 64)`);
const seconds = z.number().finite().min(0);
const frames = z.number().int().min(0).max(10_000);

/** Most annotation operations one `annotations.apply` request may carry (larger edits are sent in several). */
export const MAX_OPS_PER_APPLY = 1000;

/** Request schemas, one per method. */
export const Requests = {
  'app.info': z.object({}),
  'fs.list': z.object({ path: path.optional() }),
  'dialog.openVideo': z.object({}),
  'dialog.openFolder': z.object({}),
  'videos.open': z.object({ path }),
  'videos.recent': z.object({}),
  'videos.proxy': z.object({ videoId: id }),
  'bundles.list': z.object({}),
  'runs.start': z.object({ videoId: id, bundles: z.array(z.string().min(1).max(4096)).max(8).default([]), weights: z.array(z.number().positive()).max(8).optional(), smoothing: z.object({ valence: frames.optional(), arousal: frames.optional() }).default({}) }),
  'runs.list': z.object({ videoId: id }),
  'runs.get': z.object({ runId: id }),
  'runs.import': z.object({ videoId: id, path }),
  'jobs.cancel': z.object({ jobId: id }),
  'annotations.list': z.object({ videoId: id }),
  'annotations.load': z.object({ videoId: id, annotator }),
  'annotations.apply': z.object({ videoId: id, annotator, ops: z.array(AnnotationOpSchema).min(1).max(MAX_OPS_PER_APPLY) }),
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
  'train.start': z.object({ preset: z.string().min(1).max(100), epochs: z.number().int().min(1).max(1000).optional(), name: z.string().min(1).max(64).regex(SAFE_ID, SAFE_ID_RULE).optional() }),
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
  /**
   * URL of a playback copy (H.264, keyframes every ~0.5 s) made because a browser could not decode
   * the original, when one exists already. Frame times still come from the original.
   */
  proxyUrl?: string;
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

export interface Responses {
  /** `problems`: what went wrong opening the project (a damaged file set aside), for the UI to show. */
  'app.info': { version: string; mode: 'electron' | 'web'; project: string; executionProviders: string[]; roots: string[]; problems: string[] };
  'fs.list': { path: string; parent: string | null; entries: { name: string; path: string; kind: 'dir' | 'video' | 'file' }[] };
  'dialog.openVideo': { path: string | null };
  'dialog.openFolder': { path: string | null };
  'videos.open': VideoSummary;
  'videos.recent': { path: string; name: string; opened: string }[];
  /** A playback copy: its URL at once when cached, else the job making it (`video.proxy` when ready). */
  'videos.proxy': { mediaUrl: string | null; jobId: string | null };
  'bundles.list': BundleSummary[];
  'runs.start': { jobId: string };
  'runs.list': RunSummary[];
  'runs.get': RunData;
  'runs.import': RunSummary;
  'jobs.cancel': { cancelled: boolean };
  'annotations.list': string[];
  'annotations.load': AnnotationDoc;
  'annotations.apply': { updated: string };
  'annotations.prefill': MergeProposal;
  'annotations.export': { files: string[] };
  'annotations.import': MergeProposal;
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
  'video.proxy': { videoId: string; jobId: string; mediaUrl: string };
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
