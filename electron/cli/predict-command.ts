/**
 * `affect-studio predict <video|folder>... --out DIR`: valence, arousal, expressions and AUs per
 * face per frame, from one model bundle or an ensemble.
 */
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { defaultBundleDir, resolveBundleDir } from '../../models/bundle/store.js';
import { Predictor } from '../engine/predict/predictor.js';
import { DEFAULT_FEATURES_FPS, DEFAULT_MAX_GAP_SECONDS } from '../../models/temporal/sequences.js';
import { featureFiles, predictFeatureFiles } from '../engine/predict/predict-features.js';
import { ABAW_COMBINED, RUN_FILE, runPredictJob } from '../engine/predict/predict-job.js';
import { PREDICTION_FORMATS, type PredictionFormat } from '../engine/export/prediction-csv.js';
import { UserError } from '../../common/errors.js';
import { addFaceOptions, addRuntimeOptions, ensureWritableDir, framesPerSecond, nonNegativeInt, seconds, runtimeOptions, videoOptions, videosFromInputs, type FaceFlags } from './options.js';
import { createProgress } from './progress.js';
import { describeShardStart, mergeIfLast, planShard, SHARD_HELP, shardArg, shardWorkFolder } from './sharding.js';
import { markShardFinished, type ShardRecord } from '../engine/jobs/shard-records.js';
import { shardRecordFile, type ShardSpec } from '../engine/jobs/shards.js';

interface PredictFlags extends FaceFlags {
  out: string;
  features?: string;
  fps: number;
  bundle?: string[];
  weights?: string;
  smoothV?: number;
  smoothA?: number;
  format: PredictionFormat;
  resume?: boolean;
  maxGap: number;
  gaze: boolean;
  json?: boolean;
  shard?: ShardSpec;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function weightsList(value: string): string {
  const ws = value.split(',').map(Number);
  if (ws.some((w) => !(w > 0))) throw new InvalidArgumentError('expected positive numbers separated by commas, e.g. 2,1,1');
  return value;
}

export function predictCommand(): Command {
  const cmd = new Command('predict')
    .description('Predict valence, arousal, 8 expressions and 12 action units for every face in every frame.')
    .addHelpText('after', '\nWrites into --out, per video:\n' +
      '  native    <name>.csv: frame,timestamp,face_id,face_score,success,valence,arousal,expression,\n' +
      '            Neutral…Other (probabilities),AU1…AU26 (probabilities),pose_pitch,pose_yaw,pose_roll,\n' +
      '            gaze_x,gaze_y (degrees); every frame present (no face: success 0, empty cells)\n' +
      '  openface  <name>.openface.csv: OpenFace 2.x columns (frame, face_id, timestamp, confidence, success,\n' +
      '            gaze_0_x…gaze_angle_y, pose_Tx…pose_Rz in OpenFace\'s units and signs,\n' +
      '            AUxx_r = probability, AUxx_c = presence at the bundle\'s threshold)\n' +
      `  abaw      <name>.abaw.txt and ${ABAW_COMBINED}: the ABAW multi-task challenge layout\n` +
      '  pyfeat    <name>.pyfeat.csv: Py-Feat\'s Fex columns (frame from 0, FaceRect*, FaceScore, AU01…,\n' +
      '            Pitch, Roll, Yaw, anger…neutral, input)\n' +
      `and ${RUN_FILE}: tool version, bundles and their hashes, execution provider, smoothing, ensemble, per-video timings and errors.\n\n` +
      'Bundles: "starter" (built in; not trained on Aff-Wild2), an installed bundle (affect-studio bundles list),\n' +
      'or a bundle folder. Several --bundle options make an ensemble (mean of V/A and of probabilities).\n' +
      'Format details and the face-track rule: docs/predict.md.\n\n' +
      'Exit status: 0 all videos done, 1 some videos failed (each reported, the rest processed), 2 nothing could run.')
    .argument('[inputs...]', 'video files and/or folders (searched recursively for video files)')
    .option('--features <dir>', 'run on precomputed features instead of videos: <dir>/<video>.npy (or <dir>/features/), float32 [N, D], row k−1 = frame k')
    .option('--fps <n>', 'frame rate of --features files (timestamps, and --max-gap in frames)', framesPerSecond, DEFAULT_FEATURES_FPS)
    .requiredOption('-o, --out <dir>', 'output folder (created if missing)')
    .option('-b, --bundle <id|path>', 'model bundle to run; repeat for an ensemble (default: the default bundle)', collect)
    .option('--weights <list>', 'ensemble weights, one per --bundle, e.g. 2,1', weightsList)
    .option('--smooth-v <frames>', 'valence smoothing: centred moving average over ±N frames, 0 = off (default: each bundle\'s own)', nonNegativeInt)
    .option('--smooth-a <frames>', 'arousal smoothing, as --smooth-v', nonNegativeInt)
    .addOption(new Option('--format <format>', 'prediction file format').choices([...PREDICTION_FORMATS]).default('native'))
    .option('--resume', `skip videos ${RUN_FILE} in --out marks as done; redo the rest`)
    .option('--max-gap <seconds>', 'a face absent longer than this starts a new sequence (state reset)', seconds, DEFAULT_MAX_GAP_SECONDS)
    .option('--no-gaze', 'skip eye gaze (the iris model costs about as much as face tracking); gaze cells stay empty')
    .option('--json', 'print the run record (run.json) to stdout at the end')
    .option('--shard <K/N>', SHARD_HELP, shardArg);
  addFaceOptions(cmd);
  addRuntimeOptions(cmd);
  return cmd.action(async (inputs: string[], flags: PredictFlags) => {
    process.exitCode = await runPredict(inputs, flags);
  });
}

/** --bundle references → bundle folders (the default bundle when none is given). */
function bundleFolders(refs: string[] | undefined): string[] {
  return (refs?.length ? refs : [undefined]).map((ref) => (ref ? resolveBundleDir(ref) : defaultBundleDir()));
}

async function runPredict(inputs: string[], flags: PredictFlags): Promise<number> {
  const out = ensureWritableDir(flags.out);
  if (flags.features && flags.shard) throw new UserError('--shard splits a batch of videos; it does not apply to --features', 'run predict --features without --shard');
  if (flags.features) return runPredictFeatures(flags, out);
  if (!inputs.length) throw new UserError('no videos given', 'pass video files or folders, or --features DIR');
  const bundleDirs = bundleFolders(flags.bundle);
  const progress = createProgress();
  const found = videosFromInputs(inputs, progress);
  if (!found) return 2;
  const { problems } = found;
  const shard = flags.shard ? planShard(flags.shard, 'predict', inputs, found.videos) : undefined;
  const videos = shard ? shard.videos : found.videos;
  if (shard) progress.log(describeShardStart(shard, out));
  const predictor = await Predictor.create({
    ...runtimeOptions(flags),
    video: videoOptions(flags),
    bundleDirs,
    weights: flags.weights?.split(',').map(Number),
    smoothing: { valence: flags.smoothV, arousal: flags.smoothA },
    maxGapSeconds: flags.maxGap,
    gaze: flags.gaze,
  });
  const names = predictor.bundles.map((b) => `${b.id}@${b.version}${predictor.bundles.length > 1 ? ` ×${b.weight}` : ''} (smoothing V ${b.smoothing.valence}, A ${b.smoothing.arousal})`);
  progress.log(`predict: ${videos.length} video(s) → ${out} | ${names.join(' + ')} | ${flags.format} | models on ${predictor.provider}`);
  for (const b of predictor.bundles) if (b.kind === 'starter') progress.log(`  note: ${b.id} is the starter bundle — ${b.trainedOn}`);

  let failed = problems.length;
  const warned: string[] = [];
  let runFileFailed = false;
  let started = false;
  let label = '';
  // A shard always resumes: a requeued or resubmitted task must not redo finished videos.
  const shardOptions = shard ? { runFile: shardRecordFile(shard.spec), workFolder: shardWorkFolder(shard.spec), combined: false, extra: { shard: shard.meta } } : {};
  const record = await runPredictJob(predictor, videos, { outDir: out, format: flags.format, resume: !!flags.resume || !!shard, lastJob: true, ...shardOptions }, {
    onVideoStart(video, i, total) {
      label = `[${i + 1}/${total}] ${path.basename(video.file)}`;
      started = false;
    },
    onProgress(p) {
      if (!started) {
        progress.start(label, p.total);
        started = true;
      }
      progress.update(p.done, p.total, `| ${p.faces} face(s)`);
    },
    onVideoEnd(video, r, skipped) {
      progress.stop();
      const name = path.basename(video.file);
      if (skipped) progress.log(`= ${name}: done in an earlier run (--resume), skipped`);
      else if (r.status === 'done') {
        progress.log(`✓ ${label}: ${r.frames} frames, ${r.faceRows} face rows, face ids [${r.faceIds?.join(', ')}], ${((r.frames ?? 0) / r.seconds).toFixed(1)} fps → ${r.output}`);
        for (const w of r.warnings ?? []) progress.log(`  ! ${w}`);
        if (r.warnings?.length) warned.push(name);
      } else {
        failed++;
        progress.log(`✗ ${label}: ${(r.error ?? '').replace(`${video.file}: `, '')}`);
      }
    },
    onRunFileError(err) {
      progress.stop();
      runFileFailed = true;
      progress.log(`✗ ${err.describe()}`);
    },
  });
  const done = Object.values(record.videos).filter((v) => v.status === 'done').length;
  const withWarnings = warned.length ? ` (${warned.length} with warnings: ${warned.join(', ')})` : '';
  progress.log(`done: ${done} succeeded${withWarnings}, ${failed} failed; run record in ${path.join(out, shard ? shardRecordFile(shard.spec) : RUN_FILE)}${runFileFailed ? ' (not up to date: it could not be written)' : ''}`);
  const finalRecord = shard ? markShardFinished(out, record as unknown as ShardRecord) : record;
  if (flags.json) process.stdout.write(`${JSON.stringify(finalRecord, null, 2)}\n`);
  if (shard) mergeIfLast(out, shard.spec, (line) => progress.log(line));
  return failed || runFileFailed ? 1 : 0;
}

async function runPredictFeatures(flags: PredictFlags, out: string): Promise<number> {
  const bundleDirs = bundleFolders(flags.bundle);
  const files = featureFiles(flags.features as string);
  const predictor = await Predictor.create({
    ...runtimeOptions(flags), bundleDirs,
    weights: flags.weights?.split(',').map(Number), smoothing: { valence: flags.smoothV, arousal: flags.smoothA }, maxGapSeconds: flags.maxGap,
  });
  const progress = createProgress();
  progress.log(`predict: ${files.length} feature file(s) → ${out} | ${predictor.bundles.map((b) => `${b.id}@${b.version}`).join(' + ')} | ${flags.format}`);
  let failed = 0;
  let runFileFailed = false;
  await predictFeatureFiles(predictor, files, {
    outDir: out, format: flags.format, fps: flags.fps,
    onVideo: (r) => {
      if (r.status === 'done') {
        progress.log(`✓ ${r.stem}: ${r.frames} frames${r.noFaceFrames ? ` (${r.noFaceFrames} without a face: all-NaN rows)` : ''} → ${r.output}`);
        for (const w of r.warnings ?? []) progress.log(`  ! ${w}`);
      } else {
        failed++;
        progress.log(`✗ ${r.stem}: ${r.error}`);
      }
    },
    onRunFileError: (err) => {
      runFileFailed = true;
      progress.log(`✗ ${err.describe()}`);
    },
  });
  progress.log(`done: ${files.length - failed} succeeded, ${failed} failed; run record in ${path.join(out, RUN_FILE)}`);
  return failed || runFileFailed ? 1 : 0;
}
