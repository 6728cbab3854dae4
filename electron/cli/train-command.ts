/**
 * `affect-studio train`: the paper's training recipe on ABAW data (or the user's), without Python,
 * ending in a model bundle `predict` runs.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { SELECTIONS, type Selection } from '../../models/train/export.js';
import { findPreset, listPresets, loadPresetFile } from '../../models/train/config.js';
import { findLayout, listedFrames, loadPrecomputed, type TrainSequence } from '../../models/train/dataset.js';
import { alignedImageFeatures } from '../engine/features/aligned-images.js';
import { DEFAULT_EXTRACTORS } from '../engine/features/registry.js';
import { resolveVideoTools } from '../engine/video/binaries.js';
import type { Progress } from '../../models/train/trainer.js';
import { runTrainingRecipe, type TrainingData } from '../engine/training/recipe.js';
import { paramCount } from '../../models/temporal/params.js';
import { UserError } from '../../common/errors.js';
import { ensureWritableDir, framesPerSecond, positiveInt, seconds } from './options.js';
import { DEFAULT_FEATURES_FPS, DEFAULT_MAX_GAP_SECONDS } from '../../models/temporal/sequences.js';

interface TrainFlags {
  preset?: string;
  config?: string;
  data?: string;
  val?: string;
  features?: string[];
  epochs?: number;
  batchSize?: number;
  seed?: number;
  out?: string;
  id?: string;
  install?: boolean;
  listPresets?: boolean;
  extractors: string;
  fps: number;
  maxGap: number;
  select: Selection;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function trainCommand(): Command {
  return new Command('train')
    .description('Train a temporal multi-task model (the paper\'s recipe) and export it as a model bundle.')
    .addHelpText('after', '\nData (docs/training.md):\n' +
      '  --data ROOT            ROOT/features/<video>.npy (float32 [N, D], row k−1 = frame k) and ROOT/training_set_annotations.txt,\n' +
      '                         ROOT/validation_set_annotations.txt (s-Aff-Wild2 layout)\n' +
      '  --data FILE --features DIR...   an annotation file and feature folders (concatenated in order)\n' +
      '  --val FILE             validation annotations (default: the validation file under ROOT)\n' +
      'Sequences are every row of each features file, as predict --features runs them (a row with NaN has no face);\n' +
      'frames without a label are masked out of the loss.\n\n' +
      'Writes into --out: metrics.csv (one row per epoch), checkpoint/ (run the same command again to resume a stopped run),\n' +
      'best*.bin, train-config.json, and bundle/ — the model bundle (install it with `affect-studio bundles install`, or --install).')
    .option('--preset <name>', 'a preset (see --list-presets)')
    .option('--config <file>', 'a training configuration file (JSON, the shape of a preset)')
    .option('--data <path>', 'data folder, or an annotation file (then give --features)')
    .option('--val <file>', 'validation annotation file')
    .option('--features <dir>', 'feature folder (repeat to concatenate several backbones)', collect)
    .option('--epochs <n>', 'number of epochs (overrides the preset)', positiveInt)
    .option('--batch-size <n>', 'videos per batch (overrides the preset)', positiveInt)
    .option('--seed <n>', 'random seed (overrides the preset)', integer)
    .option('-o, --out <dir>', 'run folder')
    .option('--id <id>', 'bundle id (default: the preset name)')
    .addOption(new Option('--select <which>', 'the weights exported: the best epoch by validation P_MTL, or each task from its own best epoch (an ensemble bundle, as the ABAW4 team did)').choices([...SELECTIONS]).default('overall'))
    .option('--install', 'install the bundle when done (it becomes the default)')
    .option('--extractors <list>', 'with cropped_aligned/ images and no features/: the extractors to compute features with', DEFAULT_EXTRACTORS.join(','))
    .option('--fps <n>', 'frame rate of the features files (turns --max-gap into frames), as predict --fps', framesPerSecond, DEFAULT_FEATURES_FPS)
    .option('--max-gap <seconds>', 'a face absent (a row of NaN) longer than this starts a new sequence, as predict --max-gap', seconds, DEFAULT_MAX_GAP_SECONDS)
    .option('--list-presets', 'print the presets and exit')
    .action(async (flags: TrainFlags) => {
      if (flags.listPresets) {
        for (const p of listPresets()) process.stdout.write(`${p.name.padEnd(32)} ${p.description}\n`);
        return;
      }
      process.exitCode = await runTrain(flags);
    });
}

async function runTrain(flags: TrainFlags): Promise<number> {
  if (!flags.out) throw new UserError('missing --out', 'give a folder for the run (checkpoints, metrics, the bundle)');
  if (!flags.data) throw new UserError('missing --data', 'give the data folder (see --help)');
  if (!flags.preset === !flags.config) throw new UserError('give either --preset or --config', 'see --list-presets');
  const out = ensureWritableDir(flags.out);
  const preset = flags.preset ? findPreset(flags.preset) : loadPresetFile(flags.config as string);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const data = flags.data;

  let lastLine = 0;
  const tty = process.stderr.isTTY;
  const f3 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(3));
  const onProgress = (p: Progress) => {
    const best = p.best && Number.isFinite(p.best.pMtl) ? ` | best P_MTL ${p.best.pMtl.toFixed(3)} @${p.best.epoch}` : '';
    const last = p.last ? ` | val V ${f3(p.last.cccValence)} A ${f3(p.last.cccArousal)} E ${f3(p.last.f1Expression)} AU ${f3(p.last.f1Au)} (tuned ${f3(p.last.f1AuTuned)}) P_MTL ${f3(p.last.pMtl)}` : '';
    const line = `epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.steps} ${p.stepsPerSecond.toFixed(2)} step/s loss ${p.loss.toFixed(4)}${last}${best}`;
    const epochDone = p.step === p.steps && p.last?.epoch === p.epoch;
    if (tty) process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 200) - 1)}\x1b[K${epochDone ? '\n' : ''}`);
    else if (epochDone || performance.now() - lastLine > 30_000) {
      lastLine = performance.now();
      log(line);
    }
  };
  const { result, report, installed } = await runTrainingRecipe({
    outDir: out, preset, overrides: { epochs: flags.epochs, batchSize: flags.batchSize, seed: flags.seed },
    data: () => loadTrainingData(flags, data, log),
    bundle: { id: flags.id ?? preset.name, description: `${preset.name}: ${preset.config.model.encoder.type} ${preset.config.model.framework.type}` },
    selection: flags.select, install: flags.install, onProgress, log,
    onStart: ({ temporal, data: d, resuming }) => {
      const frames = (s: TrainSequence[]) => s.reduce((a, q) => a + q.frames.length, 0);
      const videos = (s: TrainSequence[]) => new Set(s.map((q) => q.video)).size;
      log(`${resuming ? 'resuming' : 'training'} ${preset.name}: ${temporal.encoder.type}, ${temporal.framework.type}, ${(paramCount(temporal) / 1e6).toFixed(2)} M parameters, input ${d.train.dim} | train ${videos(d.train.sequences)} videos / ${frames(d.train.sequences)} frames (${d.train.sequences.length} sequences), validation ${videos(d.val)} / ${frames(d.val)}`);
    },
  });
  const v = report.validation;
  const epochs = report.members ? report.members.map((m) => `${m.tasks.join('+')} @${m.epoch}`).join(', ') : `best epoch ${result.bestEpoch}`;
  log(`${epochs}: CCC_V ${f3(v.CCC_V)} CCC_A ${f3(v.CCC_A)} F1_expr ${f3(v.F1_expression)} F1_AU ${f3(v.F1_AU)} P_MTL ${f3(v.P_MTL)}; smoothing V ±${report.smoothing.valence} A ±${report.smoothing.arousal}`);
  log(`bundle written to ${report.dir} (ONNX vs trainer on held-out inputs: max abs diff ${report.maxAbsDiff.toExponential(1)})`);
  if (installed) log(`installed as ${installed}, now the default bundle`);
  else log(`install it with: affect-studio bundles install ${report.dir}`);
  return 0;
}

/** Where the data is (a folder in one of the layouts, or an annotation file with --features) → sequences. */
async function loadTrainingData(flags: TrainFlags, root: string, log: (s: string) => void): Promise<TrainingData> {
  let trainFile: string | string[];
  let valFile: string | string[] | undefined = flags.val;
  let featureDirs = flags.features ?? [];
  let sources: { id: string; version: string; dim: number }[] | undefined;
  let images: string | undefined;
  if (existsSync(root) && statSync(root).isDirectory()) {
    const layout = findLayout(root);
    trainFile = layout.train;
    valFile ??= layout.val;
    images = featureDirs.length ? undefined : layout.images;
    if (!featureDirs.length && !images) featureDirs = [layout.features];
  } else {
    trainFile = root;
    if (!featureDirs.length) throw new UserError('--data is an annotation file: give the feature folder(s) with --features', undefined, root);
  }
  if (!valFile) throw new UserError('no validation annotations', 'give --val FILE (the best epoch, smoothing and AU thresholds are chosen on it)', root);

  if (images) {
    // no precomputed features: compute them from the aligned face images with our extractors
    const wanted = listedFrames(trainFile);
    for (const [v, f] of listedFrames(valFile)) wanted.set(v, [...(wanted.get(v) ?? []), ...f]);
    log(`computing features of ${wanted.size} videos' aligned images (${images}) with ${flags.extractors} — cached for later runs`);
    let lastReport = 0;
    const r = await alignedImageFeatures(images, wanted, {
      ffmpeg: resolveVideoTools().ffmpeg,
      extractors: flags.extractors.split(',').map((x) => x.trim()).filter(Boolean),
      onProgress: (video, done, total) => {
        if (performance.now() - lastReport > 5000 || done === total) {
          lastReport = performance.now();
          log(`  ${video}: ${done}/${total} images`);
        }
      },
    });
    featureDirs = [r.dir];
    sources = r.sources;
  }
  const names = (x: string | string[]) => (Array.isArray(x) ? x.map((p) => path.relative(root, p)).join(', ') : path.basename(x));
  log(`loading ${names(trainFile)} and ${names(valFile)} with features from ${featureDirs.join(' + ')}`);
  // the frame grid predict --features runs over: every row, split where a face is gone longer than --max-gap
  const grid = { fps: flags.fps, maxGapSeconds: flags.maxGap };
  const train = loadPrecomputed(trainFile, featureDirs, { sources, ...grid });
  const val = loadPrecomputed(valFile, featureDirs, { sources, ...grid });
  if (val.dim !== train.dim) throw new UserError(`validation features have ${val.dim} dimensions, training features ${train.dim}`, 'use the same feature folders for both');
  const frames = train.sequences.reduce((a, q) => a + q.frames.length, 0);
  const videos = new Set(train.sequences.map((q) => q.video)).size;
  return { train, val: val.sequences, description: `${names(trainFile)} (${videos} videos, ${frames} frames in ${train.sequences.length} sequences, max gap ${flags.maxGap} s at ${flags.fps} fps); validation ${names(valFile)}; features ${featureDirs.map((d) => path.basename(d)).join(' + ')}` };
}
