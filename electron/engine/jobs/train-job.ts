/**
 * Training from the app: the project's annotated videos, a preset, one run at a time, through the
 * same recipe as `affect-studio train`. The run lives in `<project>/training/<name>/`; stopping keeps
 * its checkpoint, and starting the same name again resumes it.
 */
import path from 'node:path';
import type { TrainState } from '../../../common/job-states.js';
import { UserError } from '../../../common/errors.js';
import { pathInside } from '../../../common/node/confined-path.js';
import { installBundle } from '../../../models/bundle/store.js';
import { findPreset } from '../../../models/train/config.js';
import { sequencesFromAnnotations, splitForValidation, type AnnotatedVideo } from '../annotations/training-data.js';
import { FeaturePipeline, type FeaturePipelineOptions } from '../features/pipeline.js';
import { runTrainingRecipe } from '../training/recipe.js';
import { Job } from './job.js';

export class TrainJob {
  private readonly job: Job<TrainState>;

  constructor(
    private readonly root: string,
    private readonly engine: Omit<FeaturePipelineOptions, 'extractors'>,
    private readonly annotated: () => AnnotatedVideo[],
    onChange: (s: TrainState) => void,
  ) {
    this.job = new Job<TrainState>({ status: 'idle', history: [] }, { onChange });
  }

  snapshot(): TrainState {
    return this.job.snapshot();
  }

  start(presetName: string, epochs?: number, name?: string): TrainState {
    if (this.job.running) throw new UserError('a training run is going on', 'stop it first');
    const preset = findPreset(presetName);
    const videos = this.annotated();
    if (!videos.length) throw new UserError('no annotated videos in this project', 'annotate some videos first (the Annotate tab)');
    const run = name ?? presetName;
    const outDir = pathInside(this.root, 'training run name', run);
    const state = this.job.update({ status: 'preparing', preset: presetName, run, epochs: epochs ?? preset.config.epochs, history: [], error: undefined, bundleDir: undefined, videos: videos.length });
    this.job.start(async (signal) => {
      const { report, result } = await runTrainingRecipe({
        outDir, preset, overrides: { epochs },
        data: async () => {
          const features = await FeaturePipeline.create({ ...this.engine });
          const data = await sequencesFromAnnotations(videos, features, path.join(outDir, '.features'), signal);
          const [train, val] = splitForValidation(data.sequences);
          return { train: { ...data, sequences: train }, val, description: `annotations of ${videos.length} video(s): ${videos.map((v) => path.basename(v.file)).join(', ')}` };
        },
        bundle: { id: run, description: `${presetName} trained on this project's annotations` },
        signal,
        onStart: ({ config }) => this.job.update({ status: 'training', epochs: config.epochs }),
        onProgress: (p) => this.job.update((s) => {
          s.history = s.history.filter((h) => h.epoch < p.epoch);
          if (p.last) s.history = [...s.history.filter((h) => h.epoch !== p.last?.epoch), p.last].sort((a, b) => a.epoch - b.epoch);
          Object.assign(s, { epoch: p.epoch, step: p.step, steps: p.steps, loss: p.loss });
        }),
      });
      this.job.update({ bundleDir: report.dir, history: result.history });
    }, (outcome) => {
      if (outcome.status === 'done') this.job.update({ status: 'done' });
      else if (outcome.status === 'cancelled') this.job.update({ status: 'stopped' });
      else this.job.update({ status: 'failed', error: outcome.error });
    });
    return state;
  }

  stop(): TrainState {
    this.job.cancel();
    return this.snapshot();
  }

  install(): { ref: string } {
    const { bundleDir, status } = this.job.snapshot();
    if (!bundleDir || status !== 'done') throw new UserError('no finished training run to install', 'train a model first');
    return { ref: installBundle(bundleDir, true).ref };
  }
}
