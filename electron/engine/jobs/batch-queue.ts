/**
 * The batch panel's queue: videos waiting to be predicted into an output folder. The queue is saved
 * in the project after every change, so closing the app (or a crash) loses nothing: on the next
 * start, an item that was running is queued again and the batch can be resumed. Each finished
 * video is also recorded in the output folder's run.json, as the `predict` command does.
 */
import path from 'node:path';
import type { BatchItem, BatchState } from '../../../common/job-states.js';
import { describeError } from '../../../common/errors.js';
import { isAbort, Job } from './job.js';
import type { PredictionFormat } from '../export/prediction-csv.js';
import { assignStems, collectVideos } from './inputs.js';
import { runPredictJob } from '../predict/predict-job.js';
import type { Predictor } from '../predict/predictor.js';

interface Saved {
  items: BatchItem[];
  outDir?: string;
  format?: PredictionFormat;
  bundles?: string[];
}

export class BatchQueue {
  private readonly job: Job<Saved>;
  /** What the video being interrupted becomes: queued again (a restart picks it up) or cancelled. */
  private stopAs: 'queued' | 'cancelled' = 'queued';
  /** Pause was asked: the running video finishes (its work is kept), then the batch stops. */
  private pauseAsked = false;

  constructor(
    file: string,
    private readonly makePredictor: (bundles: string[]) => Promise<Predictor>,
    onChange: (s: BatchState) => void,
  ) {
    this.job = new Job<Saved>({ items: [] }, {
      file,
      onChange: (s) => onChange(this.view(s)),
      // a run that was going when the app closed is picked up again
      revive: (saved) => ({ ...saved, items: saved.items.map((i) => (i.status === 'running' ? { ...i, status: 'queued' } : i)) }),
    });
  }

  private view(s: Saved): BatchState {
    return { items: s.items, running: this.job.running, ...(this.pauseAsked && this.job.running && { pausing: true }), outDir: s.outDir, format: s.format };
  }

  snapshot(): BatchState {
    return this.view(this.job.snapshot());
  }

  /** Where the saved queue could not be read (it was set aside and the queue starts empty). */
  get loadProblem(): string | undefined {
    return this.job.loadProblem;
  }

  /** Queues the videos among `paths`; `allow` can refuse files a folder leads to (a link outside the allowed folders). */
  add(paths: string[], allow: (file: string) => boolean = () => true): BatchState {
    const found = collectVideos(paths);
    const videos = found.videos.filter((v) => allow(v.file));
    const problems = [...found.problems, ...found.videos.filter((v) => !allow(v.file)).map((v) => ({ path: v.file, message: 'leads outside the folders this session may use (left out)' }))];
    return this.view(this.job.update((s) => {
      const have = new Set(s.items.map((i) => i.file));
      for (const v of videos) if (!have.has(v.file)) s.items.push({ file: v.file, status: 'queued', done: 0, total: 0 });
      for (const p of problems) s.items.push({ file: p.path, status: 'failed', done: 0, total: 0, error: `${p.path}: ${p.message}` });
    }));
  }

  remove(file: string): BatchState {
    if (this.job.snapshot().items.find((i) => i.file === file)?.status === 'running') return this.snapshot();
    return this.view(this.job.update((s) => {
      s.items = s.items.filter((i) => i.file !== file);
    }));
  }

  /** Starts (or resumes) processing the queued items in the background. */
  start(outDir: string, format: PredictionFormat, bundles: string[]): BatchState {
    this.pauseAsked = false; // resuming while a pause waits for the running video: it just goes on
    this.job.update((s) => {
      Object.assign(s, { outDir, format, bundles });
      for (const i of s.items) if (i.status === 'cancelled') i.status = 'queued';
    });
    if (!this.job.running) {
      this.stopAs = 'queued';
      this.job.start((signal) => this.loop(signal), (outcome) => this.job.update((s) => {
        this.pauseAsked = false;
        if (outcome.status !== 'failed') return;
        // the batch itself could not run (e.g. the bundle): say so on the next waiting video
        const item = s.items.find((i) => i.status === 'queued');
        if (item) Object.assign(item, { status: 'failed', error: outcome.error });
      }));
    }
    return this.snapshot();
  }

  /**
   * Stops once the running video is finished (interrupting it would throw its work away); the
   * videos still waiting stay queued, and start() resumes with the next one.
   */
  pause(): BatchState {
    if (!this.job.running) return this.snapshot();
    this.pauseAsked = true;
    return this.view(this.job.update(() => undefined, { save: false }));
  }

  /** Stops; the interrupted video and the ones still waiting are marked cancelled. */
  cancel(): BatchState {
    this.stopAs = 'cancelled';
    if (this.job.cancel()) return this.snapshot();
    return this.view(this.job.update((s) => {
      for (const i of s.items) if (i.status === 'queued') i.status = 'cancelled';
    }));
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const { bundles, items } = this.job.snapshot();
    const predictor = await this.makePredictor(bundles ?? []);
    const inputs = new Map(assignStems(items.map((i) => i.file)).map((v) => [v.file, v]));
    for (;;) {
      if (this.pauseAsked) return;
      const s = this.job.snapshot();
      const index = s.items.findIndex((i) => i.status === 'queued');
      if (index < 0) return;
      const file = s.items[index].file;
      // progress is reported, not saved (save false): a restart redoes the video anyway
      const edit = (patch: Partial<BatchItem>, save = true) => this.job.update((st) => {
        const item = st.items.find((i) => i.file === file);
        if (item) Object.assign(item, patch);
      }, { save });
      edit({ status: 'running', done: 0, error: undefined, warnings: undefined });
      try {
        const record = await runPredictJob(predictor, [inputs.get(file) ?? { file, stem: path.parse(file).name }],
          { outDir: s.outDir as string, format: s.format ?? 'native', resume: true, signal }, {
            onProgress: (p) => edit({ done: p.done, total: p.total }, false),
          });
        const r = Object.values(record.videos).find((v) => v.file === file);
        edit({ status: r?.status === 'done' ? 'done' : 'failed', error: r?.error, output: r?.output, warnings: r?.warnings?.length ? r.warnings : undefined });
      } catch (err) {
        if (!isAbort(err) && !signal.aborted) {
          edit({ status: 'failed', error: describeError(err) });
          continue;
        }
        const how = this.stopAs;
        this.job.update((st) => {
          const item = st.items.find((i) => i.file === file);
          if (item) item.status = how;
          if (how === 'cancelled') for (const i of st.items) if (i.status === 'queued') i.status = 'cancelled';
        });
        throw err;
      }
    }
  }
}
