/**
 * The handlers behind the API: one object per open project, used by both transports (Electron IPC
 * and web mode). Plain Node: no Electron here; the shell adds its native dialogs through `hooks`.
 */
import { readdirSync, statSync } from 'node:fs';
import type { z } from 'zod';
import os from 'node:os';
import path from 'node:path';
import { loadAnyBundle } from '../../models/bundle/manifest.js';
import { defaultBundleDir, installedBundles, isBundleRef, resolveBundleDir } from '../../models/bundle/store.js';
import { ensureStarterBundle } from '../../models/starter/starter-bundle.js';
import { AnnotationStore } from '../engine/annotations/store.js';
import { agreement } from '../engine/annotations/agreement.js';
import { exportAbaw, importAbaw, prefillFromRun, sliverSeconds } from '../engine/annotations/conversions.js';
import { mergeProposal } from '../../common/annotation-merge.js';
import { UserError } from '../../common/errors.js';
import { Job } from '../engine/jobs/job.js';
import { runModelOnVideo } from '../engine/runs/model-run.js';
import { BatchQueue } from '../engine/jobs/batch-queue.js';
import { VIDEO_EXTENSIONS } from '../engine/jobs/inputs.js';
import { DEFAULT_MAX_GAP_SECONDS, Predictor } from '../engine/predict/predictor.js';
import { resolveFaceSettings, type FaceSettingsInput } from '../engine/features/face-settings.js';
import type { RuntimeOptions, VideoOptions } from '../engine/features/pipeline.js';
import { Project } from '../engine/project/project.js';
import { RunStore } from '../engine/runs/run-store.js';
import type { VideoTimeline } from '../engine/runs/coverage.js';
import { resolveVideoTools, type VideoTools } from '../engine/video/binaries.js';
import { frameTimes, probeVideo } from '../engine/video/probe.js';
import { PlaybackCopies } from '../engine/video/playback-proxy.js';
import { playbackCopyUrl } from './media.js';
import { toolVersion } from '../../common/node/version.js';
import type { AnnotationDoc, EventName, Events, Method, Responses, BundleSummary } from './contract.js';
import { listPresets } from '../../models/train/config.js';
import { TrainJob } from '../engine/jobs/train-job.js';
import { Requests } from './contract.js';
import type { PathRoots } from './path-roots.js';

export interface ServiceOptions {
  projectDir: string;
  mode: 'electron' | 'web';
  /** How the UI reaches a video's bytes: `media://<id>` in Electron, `/media/<id>` in web mode. */
  mediaUrl: (videoId: string) => string;
  tools?: VideoTools;
  /** Engine settings for work started from the UI, as given; resolved once, here. */
  engine?: RuntimeOptions & { cacheDir?: string | false; face?: FaceSettingsInput; playbackCopiesDir?: string };
  /**
   * The folders requests may name (videos, imports, exports, outputs, bundle folders): `serve
   * --root`, or what the desktop user chose in native dialogs. Project files are always reachable.
   */
  roots: PathRoots;
  /** Native dialogs (Electron only). */
  hooks?: { openVideo?: () => Promise<string | null>; openFolder?: () => Promise<string | null> };
}

/** The `job.progress` stage of a playback copy. */
export const PLAYBACK_COPY_STAGE = 'playback copy';

type Listener = <E extends EventName>(name: E, payload: Events[E]) => void;

export class ApiService {
  readonly project: Project;
  private readonly runs: RunStore;
  private readonly annotations: AnnotationStore;
  readonly batch: BatchQueue;
  readonly training: TrainJob;
  private readonly tools: VideoTools;
  private readonly runtime: RuntimeOptions;
  private readonly videoOptions: Omit<VideoOptions, keyof RuntimeOptions>;
  private readonly listeners = new Set<Listener>();
  private readonly jobs = new Map<string, Job<{ done: number; total: number; stage: string }>>();
  private readonly predictors = new Map<string, Promise<Predictor>>();
  private jobCounter = 0;
  private readonly copies: PlaybackCopies;
  /** The job making a video's playback copy, by video id: asking twice joins the running job. */
  private readonly copyJobs = new Map<string, string>();

  constructor(readonly options: ServiceOptions) {
    this.project = new Project(options.projectDir);
    this.runs = new RunStore(this.project.runsDir);
    this.annotations = new AnnotationStore(this.project.annotationsDir);
    this.tools = options.tools ?? resolveVideoTools();
    this.runtime = { provider: options.engine?.provider, threads: options.engine?.threads };
    this.videoOptions = { tools: this.tools, face: resolveFaceSettings(options.engine?.face), cacheDir: options.engine?.cacheDir };
    this.copies = new PlaybackCopies(this.tools, options.engine?.playbackCopiesDir);
    this.batch = new BatchQueue(this.project.batchFile, (bundles) => this.predictor(bundles), (s) => this.emit('batch.changed', s));
    this.training = new TrainJob(path.join(this.project.dir, 'training'), { ...this.runtime, ...this.videoOptions }, () => this.annotatedVideos(), (s) => this.emit('train.changed', s));
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit<E extends EventName>(name: E, payload: Events[E]): void {
    for (const l of this.listeners) l(name, payload);
  }

  /** Validates the arguments of a request and runs its handler. */
  async call<M extends Method>(method: string, args: unknown): Promise<Responses[M]> {
    if (!Object.hasOwn(Requests, method)) throw new UserError(`unknown API method "${method}"`);
    const parsed = Requests[method as M].safeParse(args ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UserError(`invalid arguments for ${method}: "${issue.path.join('.') || '(root)'}" ${issue.message}`);
    }
    const handler = this.handlers[method as M] as (a: unknown) => Promise<Responses[M]> | Responses[M];
    return handler(parsed.data);
  }

  private video(videoId: string) {
    const v = this.project.opened(videoId);
    if (!v) throw new UserError(`video "${videoId}" is not open`, 'open it first');
    return v;
  }

  /** Path of an opened video, for the media route; undefined for anything else. */
  mediaFile(videoId: string): string | undefined {
    const file = this.project.opened(videoId)?.path;
    return file && this.options.roots.allows(file) ? file : undefined;
  }

  /** What went wrong opening this project (damaged files set aside, journals repaired), for the UI. */
  problems(): string[] {
    return [...this.project.problems, ...(this.batch.loadProblem ? [this.batch.loadProblem] : []), ...this.annotations.repairs];
  }

  /** A bundle named in a request: an installed id, or a folder under the roots. */
  private bundleDir(ref: string): string {
    return resolveBundleDir(ref === 'starter' || isBundleRef(ref) ? ref : this.options.roots.check(ref, 'bundle folder'));
  }

  /** An opened video's frame times and duration (how much of it a run covers); undefined when it is not open. */
  private timeline(videoId: string): VideoTimeline | undefined {
    const v = this.project.opened(videoId);
    return v && { frameTimes: v.frameTimes, durationSec: v.info.durationSec };
  }

  /** Path of an opened video's playback copy, for the media route; undefined when there is none. */
  playbackCopyFile(videoId: string): string | undefined {
    const file = this.mediaFile(videoId);
    return file && this.copies.find(file);
  }

  private playbackCopyUrl(videoId: string): string {
    return playbackCopyUrl(this.options.mediaUrl(videoId));
  }

  /** Starts making a playback copy in the background: `job.progress`, then `video.proxy` (or `job.failed`). */
  private startPlaybackCopy(videoId: string, file: string, frames: number): string {
    const jobId = `job-${++this.jobCounter}`;
    const job = new Job({ done: 0, total: frames, stage: PLAYBACK_COPY_STAGE }, { onChange: (p) => this.emit('job.progress', { jobId, ...p }) });
    this.jobs.set(jobId, job);
    this.copyJobs.set(videoId, jobId);
    job.start(async (signal) => {
      await this.copies.make(file, { frames, signal, onProgress: (done, total) => job.update({ done, total, stage: PLAYBACK_COPY_STAGE }, { save: false }) });
    }, (outcome) => {
      this.jobs.delete(jobId);
      this.copyJobs.delete(videoId);
      if (outcome.status === 'done') this.emit('video.proxy', { videoId, jobId, mediaUrl: this.playbackCopyUrl(videoId) });
      else this.emit('job.failed', { jobId, error: outcome.status === 'failed' ? outcome.error : 'cancelled', cancelled: outcome.status === 'cancelled' });
    });
    return jobId;
  }

  private predictor(bundles: string[], weights?: number[], smoothing?: { valence?: number; arousal?: number }): Promise<Predictor> {
    const key = JSON.stringify([bundles, weights, smoothing]);
    let p = this.predictors.get(key);
    if (!p) {
      const dirs = bundles.length ? bundles.map((b) => this.bundleDir(b)) : [defaultBundleDir()];
      p = Predictor.create({ ...this.runtime, video: this.videoOptions, bundleDirs: dirs, weights, smoothing, maxGapSeconds: DEFAULT_MAX_GAP_SECONDS });
      p.catch(() => this.predictors.delete(key));
      this.predictors.set(key, p);
    }
    return p;
  }

  private docBase(videoId: string) {
    const v = this.video(videoId);
    return { v, base: { path: v.path, name: path.basename(v.path) } };
  }

  private readonly handlers: { [M in Method]: (args: z.output<(typeof Requests)[M]>) => Promise<Responses[M]> | Responses[M] } = {
    'app.info': () => ({
      version: toolVersion(), mode: this.options.mode, project: this.project.dir, executionProviders: [this.options.engine?.provider ?? 'auto'],
      roots: this.options.roots.list(), problems: this.problems(),
    }),

    'fs.list': ({ path: p }) => {
      // the browser starts at the first root and never climbs above the root it is in
      const dir = this.options.roots.check(p ?? this.options.roots.list()[0] ?? os.homedir(), 'folder');
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch (err) {
        throw new UserError(`cannot list the folder (${(err as NodeJS.ErrnoException).code})`, 'choose another folder', dir);
      }
      const entries = names.filter((n) => !n.startsWith('.')).map((name) => {
        const full = path.join(dir, name);
        let kind: 'dir' | 'video' | 'file' = 'file';
        try {
          if (statSync(full).isDirectory()) kind = 'dir';
          else if (VIDEO_EXTENSIONS.has(path.extname(name).toLowerCase())) kind = 'video';
        } catch {
          /* unreadable entries are listed as plain files */
        }
        return { name, path: full, kind };
      }).sort((a, b) => (a.kind === 'dir' ? 0 : 1) - (b.kind === 'dir' ? 0 : 1) || a.name.localeCompare(b.name));
      const parent = path.dirname(dir);
      return { path: dir, parent: parent === dir || this.options.roots.rootOf(dir) === dir ? null : parent, entries };
    },

    'dialog.openVideo': async () => ({ path: (await this.options.hooks?.openVideo?.()) ?? null }),
    'dialog.openFolder': async () => ({ path: (await this.options.hooks?.openFolder?.()) ?? null }),

    'videos.open': async ({ path: requested }) => {
      const file = this.options.roots.check(requested, 'video');
      const info = await probeVideo(file, this.tools.ffprobe);
      const times = await frameTimes(file, this.tools.ffprobe);
      const videoId = this.project.register(file, info, times);
      return {
        videoId, path: path.resolve(file), name: path.basename(file), mediaUrl: this.options.mediaUrl(videoId),
        width: info.width, height: info.height, fps: info.fps, durationSec: info.durationSec, frameCount: times.length || info.frameCount,
        codec: info.codec, variableFrameRate: info.variableFrameRate, frameTimes: times,
        ...(this.copies.find(file) && { proxyUrl: this.playbackCopyUrl(videoId) }),
      };
    },
    'videos.proxy': ({ videoId }) => {
      const v = this.video(videoId);
      if (this.copies.find(v.path)) return { mediaUrl: this.playbackCopyUrl(videoId), jobId: null };
      return { mediaUrl: null, jobId: this.copyJobs.get(videoId) ?? this.startPlaybackCopy(videoId, v.path, v.frameTimes.length || v.info.frameCount) };
    },
    'videos.recent': () => this.project.recent().map((v) => ({ path: v.path, name: path.basename(v.path), opened: v.opened })),

    'bundles.list': () => {
      const def = defaultBundleDir();
      const summary = (dir: string, ref: string): BundleSummary => {
        const m = loadAnyBundle(dir).manifest;
        return { ref, id: m.id, version: m.version, kind: m.kind, description: m.description, trainedOn: m.provenance.trainedOn, isDefault: dir === def };
      };
      return [summary(ensureStarterBundle(), 'starter'), ...installedBundles().filter((b) => b.kind !== 'broken').map((b) => summary(b.dir, b.ref))];
    },

    'runs.start': ({ videoId, bundles, weights, smoothing }) => {
      const v = this.video(videoId);
      for (const b of bundles) this.bundleDir(b); // refused now, not later in the job
      const jobId = `job-${++this.jobCounter}`;
      const job = new Job({ done: 0, total: 0, stage: 'starting' }, { onChange: (p) => this.emit('job.progress', { jobId, ...p }) });
      this.jobs.set(jobId, job);
      let runId = '';
      job.start(async (signal) => {
        const predictor = await this.predictor(bundles, weights, smoothing);
        runId = await runModelOnVideo(predictor, this.runs, { videoId, path: v.path }, { signal, onProgress: (p) => job.update(p, { save: false }) });
      }, (outcome) => {
        this.jobs.delete(jobId);
        if (outcome.status === 'done') this.emit('job.done', { jobId, runId });
        else this.emit('job.failed', { jobId, error: outcome.status === 'failed' ? outcome.error : 'cancelled', cancelled: outcome.status === 'cancelled' });
      });
      return { jobId };
    },
    'runs.list': ({ videoId }) => this.runs.list(videoId, videoId, this.timeline(videoId)),
    'runs.get': ({ runId }) => this.runs.load(runId),
    'runs.import': ({ videoId, path: file }) => {
      this.video(videoId);
      return this.runs.import(videoId, videoId, this.options.roots.check(file, 'file to import'), this.timeline(videoId));
    },
    'jobs.cancel': ({ jobId }) => {
      return { cancelled: this.jobs.get(jobId)?.cancel() ?? false };
    },

    'annotations.list': ({ videoId }) => this.annotations.annotators(videoId),
    'annotations.load': ({ videoId, annotator }) => this.annotations.load(videoId, annotator, this.docBase(videoId).base),
    'annotations.apply': ({ videoId, annotator, ops }) => ({ updated: this.annotations.apply(videoId, annotator, this.docBase(videoId).base, ops).updated }),
    // suggestions are proposed, never written: the UI applies the ops as one undoable edit
    'annotations.prefill': ({ videoId, annotator, runId }) => {
      const { v, base } = this.docBase(videoId);
      const suggestion = prefillFromRun(this.runs.load(runId), base, annotator);
      return mergeProposal(this.annotations.load(videoId, annotator, base), suggestion, { minDuration: sliverSeconds(v.frameTimes) });
    },
    'annotations.export': ({ videoId, annotator, dir }) => {
      const { v, base } = this.docBase(videoId);
      const files = exportAbaw(this.annotations.load(videoId, annotator, base), v.frameTimes, this.options.roots.check(dir, 'export folder'), path.parse(v.path).name);
      if (!files.length) throw new UserError('nothing to export: this annotator has no annotations for the video');
      return { files };
    },
    'annotations.import': ({ videoId, annotator, dir }) => {
      const { v, base } = this.docBase(videoId);
      let suggestion;
      try {
        suggestion = importAbaw(this.options.roots.check(dir, 'import folder'), path.parse(v.path).name, v.frameTimes, base, annotator);
      } catch (err) {
        if (err instanceof UserError) throw err;
        throw new UserError((err as Error).message, 'choose the folder holding VA_Estimation_Challenge / EXPR_Recognition_Challenge / AU_Detection_Challenge', dir);
      }
      return mergeProposal(this.annotations.load(videoId, annotator, base), suggestion, { minDuration: sliverSeconds(v.frameTimes) });
    },
    'agreement.compute': ({ videoId, runId, poseFilter }) => {
      const { v, base } = this.docBase(videoId);
      const docs = this.annotations.annotators(videoId).map((a) => this.annotations.load(videoId, a, base));
      return agreement(docs, v.frameTimes, runId ? this.runs.load(runId) : undefined, poseFilter);
    },

    'batch.add': ({ paths }) => this.batch.add(paths.map((p) => this.options.roots.check(p, 'video or folder')), (file) => this.options.roots.allows(file)),
    'batch.remove': ({ file }) => this.batch.remove(file),
    'batch.state': () => this.batch.snapshot(),
    'batch.start': ({ outDir, format, bundles }) => {
      for (const b of bundles) this.bundleDir(b);
      return this.batch.start(this.options.roots.check(outDir, 'output folder'), format, bundles);
    },
    'batch.pause': () => this.batch.pause(),
    'batch.cancel': () => this.batch.cancel(),

    'train.presets': () => listPresets().map((p) => ({ name: p.name, description: p.description })),
    'train.state': () => this.training.snapshot(),
    'train.start': ({ preset, epochs, name }) => this.training.start(preset, epochs, name),
    'train.stop': () => this.training.stop(),
    'train.install': () => this.training.install(),
  };

  /** Videos of the project with at least one annotation document, and those documents. */
  private annotatedVideos(): { file: string; docs: AnnotationDoc[] }[] {
    return this.project.recent().flatMap((v) => {
      const names = this.annotations.annotators(v.videoId);
      if (!names.length) return [];
      const base = { path: v.path, name: path.basename(v.path) };
      const docs = names.map((a) => this.annotations.load(v.videoId, a, base)).filter((d) => d.segments.length || d.aus.length || d.traces.some((t) => t.input !== 'model'));
      return docs.length ? [{ file: v.path, docs }] : [];
    });
  }

  /** Flushes annotation documents (on quit). */
  close(): void {
    this.annotations.compactAll();
  }
}
