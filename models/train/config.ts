/**
 * Training configuration as plain data (presets are JSON files of this shape). The model part is the
 * temporal configuration the ONNX graphs are built from, without the input width (the data gives it).
 */
import { readJsonFile } from '../../common/node/storage.js';
import { UserError } from '../../common/errors.js';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { EncoderSchema, FrameworkSchema, parseTemporalConfig, type TemporalConfig } from '../temporal/config.js';
import { paramCount } from '../temporal/params.js';
import { TASKS } from '../../common/labels.js';

export const TrainConfigSchema = z.object({
  model: z.object({
    tasks: z.array(z.enum(TASKS)).min(1).default([...TASKS]),
    encoder: EncoderSchema,
    framework: FrameworkSchema.default({ type: 'basic' }),
    heads: z.object({ hidden: z.array(z.number().int().positive()).default([512, 256]), dropout: z.number().min(0).max(1).default(0) }).default({ hidden: [512, 256], dropout: 0 }),
    segmentLength: z.number().int().positive().default(250),
  }),
  /** Videos per batch (padded to the longest, with frame masks). */
  batchSize: z.number().int().positive().default(8),
  epochs: z.number().int().positive().default(50),
  /** Adam; the learning rate decays linearly to 0 over the run. */
  learningRate: z.number().positive().default(5e-5),
  beta1: z.number().min(0).max(1).default(0.5),
  beta2: z.number().min(0).max(1).default(0.999),
  /** Gradients are scaled down to this global norm. */
  clipNorm: z.number().positive().default(5),
  lossWeights: z.object({ valence: z.number().min(0), arousal: z.number().min(0), expression: z.number().min(0), au: z.number().min(0) })
    .default({ valence: 12, arousal: 12, expression: 0.35, au: 1 }),
  /**
   * Weight of each AU's positive labels in its BCE: "prevalence" = negatives ÷ positives of that AU in
   * the training labels (PyTorch's pos_weight), so a rare AU is not learned as "always absent";
   * "none" = 1 (the paper).
   */
  auPositiveWeight: z.enum(['none', 'prevalence']).default('none'),
  /**
   * Weight of each expression class in the cross-entropy: "balanced" = inverse frequency in the
   * training labels (n ÷ (classes present × n_c)), the loss a weighted mean; "none" = 1 (the paper).
   */
  expressionClassWeight: z.enum(['none', 'balanced']).default('none'),
  /** Fraction of time steps whose feedback input is the ground truth (feedback framework, training only). */
  feedbackMix: z.number().min(0).max(1).default(0.75),
  /** "train": per-feature mean/std of the training set, baked into the graph; "per-sequence": z-score per video. */
  normalization: z.enum(['train', 'per-sequence', 'none']).default('train'),
  seed: z.number().int().default(0),
});

export type TrainConfig = z.infer<typeof TrainConfigSchema>;

export interface Preset {
  name: string;
  description: string;
  config: TrainConfig;
}

/** Presets are JSON files beside this module (the build copies them into dist/). */
const presetFolder = (): string => path.join(path.dirname(fileURLToPath(import.meta.url)), 'presets');

export function listPresets(): Preset[] {
  const dir = presetFolder();
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => loadPresetFile(path.join(dir, f)));
}

export function loadPresetFile(file: string): Preset {
  const raw = readJsonFile(file, 'give a training configuration file (JSON, the shape of a preset: models/train/presets/)') as { description?: string; config?: unknown };
  const parsed = TrainConfigSchema.safeParse(raw.config ?? raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`field "${issue.path.join('.')}": ${issue.message}`, 'fix the configuration (the shape of a preset: models/train/presets/)', file);
  }
  return { name: path.basename(file, '.json'), description: raw.description ?? '', config: parsed.data };
}

export function findPreset(name: string): Preset {
  const p = listPresets().find((x) => x.name === name);
  if (!p) throw new UserError(`no preset "${name}"`, `presets: ${listPresets().map((x) => x.name).join(', ')}`);
  return p;
}

export function temporalConfig(train: TrainConfig, inputDim: number): TemporalConfig {
  return parseTemporalConfig({ ...train.model, inputDim });
}

/**
 * Peak memory of a training step, from measurements of the wasm backend (tests/bench): the tape
 * keeps a copy of each op's inputs — about six copies of the input features per frame, the gate
 * activations of every recurrent step (backpropagation through time is hand-written, so only
 * those), the heads' activations, attention scores — plus weights, gradients and Adam's moments.
 * It errs on the high side.
 */
export function trainingMemoryBytes(train: TrainConfig, inputDim: number): number {
  const config = temporalConfig(train, inputDim);
  const params = paramCount(config);
  const e = config.encoder;
  const width = e.type === 'transformer' ? e.dModel + e.ff : e.hidden;
  const stacks = 1 + (config.framework.type === 'basic' ? 0 : config.tasks.length);
  const layers = (e.layers + (config.framework.type === 'basic' ? 0 : (config.framework as { taskLayers: number }).taskLayers)) * stacks;
  const frames = train.batchSize * config.segmentLength;
  const heads = config.heads.hidden.reduce((a, b) => a + b, 0) * config.tasks.length;
  const attention = e.type === 'transformer' ? train.batchSize * e.heads * config.segmentLength ** 2 * 4 * layers : 0;
  // the relative bias's one-hot map from frame pairs to distances (network.ts), one per segment length
  const distanceMap = e.type === 'transformer' && e.relativeBias > 0 ? (2 * e.relativeBias + 1) * config.segmentLength ** 2 : 0;
  return 4 * (frames * (6 * inputDim + 40 * width * layers + 12 * heads) + attention + distanceMap) + 16 * params;
}

export const WASM_MEMORY_LIMIT = 4 * 1024 ** 3;

/** Refuses a configuration that cannot fit, before any data is loaded. */
export function checkMemory(train: TrainConfig, inputDim: number): void {
  const need = trainingMemoryBytes(train, inputDim);
  const limit = Math.min(WASM_MEMORY_LIMIT * 0.9, os.totalmem() * 0.7);
  if (need > limit) {
    throw new UserError(`this configuration needs about ${(need / 1024 ** 3).toFixed(1)} GiB to train (${(paramCount(temporalConfig(train, inputDim)) / 1e6).toFixed(0)} M parameters, batch ${train.batchSize} × ${train.model.segmentLength} frames), more than the ${(limit / 1024 ** 3).toFixed(1)} GiB available to the WebAssembly backend`, 'lower the hidden size, --batch-size or the segment length');
  }
}
