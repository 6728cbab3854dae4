/**
 * The training recipe, one for the CLI and the app: configuration (a resumed run keeps the one it
 * started with) → data → label check → memory check → train → export a checked bundle → install it
 * if asked. Where the data comes from is the caller's business; everything after is here.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../common/errors.js';
import { TASKS, type Task } from '../../../common/labels.js';
import { readJsonFile, writeFileAtomic } from '../../../common/node/storage.js';
import { installBundle } from '../../../models/bundle/store.js';
import { checkMemory, temporalConfig, type Preset, type TrainConfig } from '../../../models/train/config.js';
import type { TrainSequence, TrainSet } from '../../../models/train/dataset.js';
import { exportBundle, type ExportReport, type Selection } from '../../../models/train/export.js';
import { Checkpoint } from '../../../models/train/checkpoint.js';
import { trainModel, type Progress, type TrainResult } from '../../../models/train/trainer.js';
import type { TemporalConfig } from '../../../models/temporal/config.js';
import type { Weights } from '../../../models/temporal/params.js';

export interface TrainingData {
  train: TrainSet;
  val: TrainSequence[];
  /** For the bundle's provenance: what it was trained on. */
  description: string;
}

export interface RecipeOptions {
  outDir: string;
  preset: Preset;
  /** Overrides of the preset (a resumed run takes only `epochs`). */
  overrides?: Partial<Pick<TrainConfig, 'epochs' | 'batchSize' | 'seed'>>;
  /** Loads the data; called after the configuration is settled. */
  data: () => Promise<TrainingData>;
  bundle: { id: string; description: string };
  /** Which weights the bundle gets: the best epoch overall (default) or each task's best epoch (models/train/export.ts). */
  selection?: Selection;
  install?: boolean;
  onProgress?: (p: Progress) => void;
  /** What the recipe is doing, a line at a time. */
  log?: (line: string) => void;
  /** Called once the data is loaded and checked, before the first step. */
  onStart?: (info: { config: TrainConfig; temporal: TemporalConfig; data: TrainingData; resuming: boolean }) => void;
  signal?: AbortSignal;
}

export interface RecipeResult {
  config: TrainConfig;
  result: TrainResult;
  report: ExportReport;
  /** The store reference when installed. */
  installed?: string;
}

export const TRAIN_CONFIG_FILE = 'train-config.json';

/** The configuration of this run: the preset with overrides, or the one a resumed run started with. */
function runConfig(outDir: string, preset: Preset, overrides: RecipeOptions['overrides'] = {}): { config: TrainConfig; resuming: boolean } {
  const resuming = existsSync(path.join(outDir, 'checkpoint', 'state.json'));
  const savedFile = path.join(outDir, TRAIN_CONFIG_FILE);
  if (resuming && existsSync(savedFile)) {
    const saved = readJsonFile(savedFile, 'delete the run folder to start again') as { config: TrainConfig };
    // a resumed run goes on with the configuration it started with (only the epoch count may grow)
    return { config: { ...saved.config, epochs: overrides.epochs ?? saved.config.epochs }, resuming };
  }
  const c = preset.config;
  return { config: { ...c, epochs: overrides.epochs ?? c.epochs, batchSize: overrides.batchSize ?? c.batchSize, seed: overrides.seed ?? c.seed }, resuming };
}

/** Valid labels per task over a set of sequences. */
export function labelCounts(seqs: TrainSequence[]): Record<Task, number> {
  const n: Record<Task, number> = { valence: 0, arousal: 0, expression: 0, au: 0 };
  for (const s of seqs) {
    for (let r = 0; r < s.frames.length; r++) {
      if (!Number.isNaN(s.valence[r])) n.valence++;
      if (!Number.isNaN(s.arousal[r])) n.arousal++;
      if (s.expression[r] >= 0) n.expression++;
      if (s.au.subarray(r * 12, r * 12 + 12).some((x) => x >= 0)) n.au++;
    }
  }
  return n;
}

/** Refuses data that teaches nothing; says which tasks will not be learned. */
function checkLabels(data: TrainingData, config: TrainConfig, log: (line: string) => void): void {
  const counts = labelCounts(data.train.sequences);
  const tasks = config.model.tasks;
  const missing = tasks.filter((t) => counts[t] === 0);
  if (missing.length === tasks.length) {
    throw new UserError(`no usable labels: none of ${tasks.join(', ')} has a valid label in the training data (${data.description})`,
      'check the annotation files (−5 and −1 mark missing labels) or annotate some frames');
  }
  if (missing.length) log(`warning: no training labels for ${missing.join(', ')}: ${missing.length === 1 ? 'that head stays' : 'those heads stay'} untrained`);
  const valCounts = labelCounts(data.val);
  const noVal = TASKS.filter((t) => tasks.includes(t) && counts[t] > 0 && valCounts[t] === 0);
  if (noVal.length) log(`warning: no validation labels for ${noVal.join(', ')}: not scored, and not used to choose the best epoch`);
}

/** Each task's best weights, as the run kept them (best-<task>.bin). */
function perTaskWeights(outDir: string, tasks: Task[]): Partial<Record<Task, Weights>> {
  const checkpoint = new Checkpoint(outDir);
  return Object.fromEntries(tasks.map((t) => [t, checkpoint.bestOf(t)]).filter(([, w]) => w !== undefined));
}

export async function runTrainingRecipe(o: RecipeOptions): Promise<RecipeResult> {
  const log = o.log ?? (() => undefined);
  const { config, resuming } = runConfig(o.outDir, o.preset, o.overrides);
  const data = await o.data();
  checkLabels(data, config, log);
  checkMemory(config, data.train.dim);
  const temporal = temporalConfig(config, data.train.dim);
  writeFileAtomic(path.join(o.outDir, TRAIN_CONFIG_FILE), `${JSON.stringify({ preset: o.preset.name, config, data: data.description }, null, 2)}\n`);
  o.onStart?.({ config, temporal, data, resuming });

  const result = await trainModel({ outDir: o.outDir, train: data.train.sequences, val: data.val, dim: data.train.dim, config, temporal, onProgress: o.onProgress, signal: o.signal });
  const report = await exportBundle(result, {
    dir: path.join(o.outDir, 'bundle'), id: o.bundle.id, version: `1.0.0-e${result.history.length}-s${config.seed}`, description: o.bundle.description,
    train: config, preset: o.preset.name, dataDescription: data.description, extractors: data.train.sources, val: data.val, dim: data.train.dim,
    selection: o.selection,
    perTaskWeights: o.selection === 'per-task' ? perTaskWeights(o.outDir, temporal.tasks) : undefined,
  });
  const installed = o.install ? installBundle(report.dir, true).ref : undefined;
  return { config, result, report, installed };
}
