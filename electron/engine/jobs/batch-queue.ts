/**
 * The batch panel's queue: videos waiting to be predicted into an output folder. The queue is saved
 * in the project after every change, so closing the app (or a crash) loses nothing: on the next
 * start, an item that was running is queued again and the batch can be resumed. Each finished
 * video is also recorded in the output folder's run.json, as the `predict` command does.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../../common/node/storage.js';
import type { BatchItem, BatchState } from '../../../common/job-states.js';
import { describeError } from '../../../common/errors.js';
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
  private state: Saved;
  private running = false;
  private abort?: AbortController;
  private stopAs: 'queued' | 'cancelled' = 'queued';

  constructor(
    private readonly file: string,
    private readonly makePredictor: (bundles: string[]) => Promise<Predictor>,
    private readonly onChange: (s: BatchState) => void,
  ) {
    this.state = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Saved) : { items: [] };
    // a run that was going when the app closed is picked up again
    for (const item of this.state.items) if (item.status === 'running') item.status = 'queued';
  }

  snapshot(): BatchState {
    return { items: this.state.items.map((i) => ({ ...i })), running: this.running, outDir: this.state.outDir, format: this.state.format };
  }

  private changed(): BatchState {
    writeFileAtomic(this.file, `${JSON.stringify(this.state, null, 1)}\n`);
    const s = this.snapshot();
    this.onChange(s);
    return s;
  }

  add(paths: string[]): BatchState {
    const { videos, problems } = collectVideos(paths);
    const have = new Set(this.state.items.map((i) => i.file));
    for (const v of videos) if (!have.has(v.file)) this.state.items.push({ file: v.file, status: 'queued', done: 0, total: 0 });
    for (const p of problems) this.state.items.push({ file: p.path, status: 'failed', done: 0, total: 0, error: `${p.path}: ${p.message}` });
    return this.changed();
  }

  remove(file: string): BatchState {
    if (this.running && this.state.items.find((i) => i.file === file)?.status === 'running') return this.snapshot();
    this.state.items = this.state.items.filter((i) => i.file !== file);
    return this.changed();
  }

  /** Starts (or resumes) processing the queued items in the background. */
  start(outDir: string, format: PredictionFormat, bundles: string[]): BatchState {
    this.state.outDir = outDir;
    this.state.format = format;
    this.state.bundles = bundles;
    for (const i of this.state.items) if (i.status === 'cancelled') i.status = 'queued';
    if (!this.running) {
      this.running = true;
      void this.loop();
    }
    return this.changed();
  }

  /** Stops after interrupting the current video; it stays queued. */
  pause(): BatchState {
    this.stopAs = 'queued';
    this.abort?.abort();
    return this.snapshot();
  }

  /** Stops; the interrupted video and the ones still waiting are marked cancelled. */
  cancel(): BatchState {
    this.stopAs = 'cancelled';
    this.abort?.abort();
    if (!this.running) {
      for (const i of this.state.items) if (i.status === 'queued') i.status = 'cancelled';
      return this.changed();
    }
    return this.snapshot();
  }

  private async loop(): Promise<void> {
    this.stopAs = 'queued';
    try {
      const predictor = await this.makePredictor(this.state.bundles ?? []);
      const stems = new Map(assignStems(this.state.items.map((i) => i.file)).map((v) => [v.file, v.stem]));
      for (;;) {
        const item = this.state.items.find((i) => i.status === 'queued');
        if (!item) break;
        item.status = 'running';
        item.done = 0;
        item.error = undefined;
        this.changed();
        this.abort = new AbortController();
        try {
          const record = await runPredictJob(predictor, [{ file: item.file, stem: stems.get(item.file) ?? path.parse(item.file).name }],
            { outDir: this.state.outDir as string, format: this.state.format ?? 'native', resume: true, signal: this.abort.signal }, {
              onProgress: (p) => {
                item.done = p.done;
                item.total = p.total;
                this.onChange(this.snapshot());
              },
            });
          const r = Object.values(record.videos).find((v) => v.file === item.file);
          item.status = r?.status === 'done' ? 'done' : 'failed';
          item.error = r?.error;
          item.output = r?.output;
        } catch (err) {
          if ((err as Error).name === 'AbortError') {
            // set by pause() or cancel() while the video was running
            const how = this.stopAs as 'queued' | 'cancelled';
            item.status = how;
            if (how === 'cancelled') for (const i of this.state.items) if (i.status === 'queued') i.status = 'cancelled';
            break;
          }
          item.status = 'failed';
          item.error = describeError(err);
        }
        this.changed();
      }
    } catch (err) {
      const item = this.state.items.find((i) => i.status === 'queued');
      if (item) {
        item.status = 'failed';
        item.error = describeError(err);
      }
    } finally {
      this.running = false;
      this.abort = undefined;
      this.changed();
    }
  }
}
