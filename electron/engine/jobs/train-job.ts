/**
 * Training from the app: the project's annotated videos, a preset, one run at a time. The run
 * lives in `<project>/training/<name>/`; stopping keeps its checkpoint, and starting the same name
 * again resumes it. State changes are reported to the UI as they happen.
 */
import path from 'node:path';
import { installBundle } from '../../../models/bundle/store.js';
import { checkMemory, findPreset, temporalConfig } from '../../../models/train/config.js';
import { exportBundle } from '../../../models/train/export.js';
import { trainModel } from '../../../models/train/trainer.js';
import type { TrainState } from '../../../common/job-states.js';
import { describeError, UserError } from '../../../common/errors.js';
import { FeaturePipeline, type FeaturePipelineOptions } from '../features/pipeline.js';
import { sequencesFromAnnotations, splitForValidation, type AnnotatedVideo } from '../annotations/training-data.js';

export class TrainJob {
  private state: TrainState = { status: 'idle', history: [] };
  private abort?: AbortController;

  constructor(
    private readonly root: string,
    private readonly engine: Omit<FeaturePipelineOptions, 'extractors'>,
    private readonly annotated: () => AnnotatedVideo[],
    private readonly onChange: (s: TrainState) => void,
  ) {}

  snapshot(): TrainState {
    return { ...this.state, history: [...this.state.history] };
  }

  private set(patch: Partial<TrainState>): TrainState {
    this.state = { ...this.state, ...patch };
    const s = this.snapshot();
    this.onChange(s);
    return s;
  }

  start(presetName: string, epochs?: number, name?: string): TrainState {
    if (this.state.status === 'preparing' || this.state.status === 'training') throw new UserError('a training run is going on', 'stop it first');
    const preset = findPreset(presetName);
    const videos = this.annotated();
    if (!videos.length) throw new UserError('no annotated videos in this project', 'annotate some videos first (the Annotate tab)');
    const run = name ?? `${presetName}`;
    const config = { ...preset.config, epochs: epochs ?? preset.config.epochs };
    this.abort = new AbortController();
    const signal = this.abort.signal;
    const outDir = path.join(this.root, run);
    const state = this.set({ status: 'preparing', preset: presetName, run, epochs: config.epochs, history: [], error: undefined, bundleDir: undefined, videos: videos.length });
    void (async () => {
      try {
        const features = await FeaturePipeline.create({ ...this.engine });
        const data = await sequencesFromAnnotations(videos, features, path.join(outDir, '.features'), signal);
        checkMemory(config, data.dim);
        const [train, val] = splitForValidation(data.sequences, data.dim);
        const temporal = temporalConfig(config, data.dim);
        this.set({ status: 'training' });
        const result = await trainModel({
          outDir, train, val, dim: data.dim, config, temporal, signal,
          onProgress: (p) => {
            this.state.history = this.state.history.filter((h) => h.epoch < p.epoch);
            if (p.last) this.state.history = [...this.state.history.filter((h) => h.epoch !== p.last?.epoch), p.last].sort((a, b) => a.epoch - b.epoch);
            this.set({ epoch: p.epoch, step: p.step, steps: p.steps, loss: p.loss });
          },
        });
        const report = await exportBundle(result, {
          dir: path.join(outDir, 'bundle'), id: run, version: `1.0.0-e${result.history.length}`, description: `${presetName} trained on this project's annotations`,
          train: config, preset: presetName, dataDescription: `annotations of ${videos.length} video(s): ${videos.map((v) => path.basename(v.file)).join(', ')}`,
          extractors: data.sources, val, dim: data.dim,
        });
        this.set({ status: 'done', bundleDir: report.dir, history: result.history });
      } catch (err) {
        if ((err as Error).name === 'AbortError') this.set({ status: 'stopped' });
        else this.set({ status: 'failed', error: describeError(err) });
      }
    })();
    return state;
  }

  stop(): TrainState {
    this.abort?.abort();
    return this.snapshot();
  }

  install(): { ref: string } {
    if (!this.state.bundleDir) throw new UserError('no finished training run to install', 'train a model first');
    return { ref: installBundle(this.state.bundleDir, true).ref };
  }
}
