/**
 * `affect-studio features <video|folder>... --out DIR`: tracked faces and per-frame feature vectors.
 */
import path from 'node:path';
import { Command } from 'commander';
import { FeaturePipeline, type VideoFeaturesResult } from '../engine/features/pipeline.js';
import { BUILTIN_EXTRACTORS, DEFAULT_EXTRACTORS } from '../engine/features/registry.js';
import { describeError, UserError } from '../../common/errors.js';
import { addFaceOptions, addRuntimeOptions, ensureWritableDir, runtimeOptions, videoOptions, videosFromInputs, type FaceFlags } from './options.js';
import { createProgress } from './progress.js';
import { describeShardStart, mergeIfLast, planShard, SHARD_HELP, shardArg } from './sharding.js';
import { FeaturesShardRun } from '../engine/jobs/features-shard-run.js';
import type { ShardSpec } from '../engine/jobs/shards.js';

interface FeaturesFlags extends FaceFlags {
  out: string;
  extractors: string;
  json?: boolean;
  shard?: ShardSpec;
}

export function featuresCommand(): Command {
  const cmd = new Command('features')
    .description('Find and track faces in videos and write per-frame feature vectors.')
    .addHelpText('after', '\nFor each video, writes into --out:\n' +
      '  <name>.faces.csv      one row per face per processed frame (frame, timestamp, face_id, box, score,\n' +
      '                        5 keypoints, roll); frames without a face get one row with empty face fields\n' +
      '  <name>.features.npy   float32 [rows, D], row i = row i of faces.csv (NaN where no face); np.load() reads it\n' +
      '  <name>.features.json  which columns come from which extractor, the video\'s hash, settings and warnings\n\n' +
      `Built-in extractors: ${Object.entries(BUILTIN_EXTRACTORS).map(([k, v]) => `\n  ${k.padEnd(11)} ${v.description}`).join('')}\n` +
      'Add your own ONNX image model with a manifest (docs/extractors.md) and list its path in --extractors.\n\n' +
      'Exit status: 0 all videos done, 1 some videos failed (each reported, the rest processed), 2 nothing could run.')
    .argument('<inputs...>', 'video files and/or folders (searched recursively for video files)')
    .requiredOption('-o, --out <dir>', 'output folder (created if missing)')
    .option('-x, --extractors <list>', 'comma-separated extractors, in column order: built-in names and/or manifest .json paths', DEFAULT_EXTRACTORS.join(','))
    .option('--json', 'print a JSON summary of the run to stdout')
    .option('--shard <K/N>', SHARD_HELP, shardArg);
  addFaceOptions(cmd);
  addRuntimeOptions(cmd);
  return cmd.action(async (inputs: string[], flags: FeaturesFlags) => {
    process.exitCode = await runFeatures(inputs, flags);
  });
}

async function runFeatures(inputs: string[], flags: FeaturesFlags): Promise<number> {
  const out = ensureWritableDir(flags.out);
  const progress = createProgress();
  const found = videosFromInputs(inputs, progress);
  if (!found) return 2;
  const { problems } = found;
  const plan = flags.shard ? planShard(flags.shard, 'features', inputs, found.videos) : undefined;
  const videos = plan ? plan.videos : found.videos;
  if (plan) progress.log(describeShardStart(plan, out));
  const pipeline = await FeaturePipeline.create({
    ...runtimeOptions(flags),
    ...videoOptions(flags),
    extractors: flags.extractors.split(',').map((s) => s.trim()).filter(Boolean),
  });
  progress.log(`features: ${videos.length} video(s) → ${out} | extractors ${pipeline.extractors.map((e) => `${e.id} (${e.dim})`).join(', ')} | D = ${pipeline.columns.length} | models on ${pipeline.provider}`);
  // A shard keeps a run record and always resumes from it (a requeued task skips finished videos).
  const shardRun = plan ? FeaturesShardRun.open(out, pipeline, plan.meta) : undefined;

  const results: VideoFeaturesResult[] = [];
  const failures: { file: string; error: string }[] = problems.map((p) => ({ file: p.path, error: p.message }));
  for (const [i, video] of videos.entries()) {
    const label = `[${i + 1}/${videos.length}] ${path.basename(video.file)}`;
    if (shardRun?.isDone(video)) {
      progress.log(`= ${path.basename(video.file)}: done in an earlier run of this shard, skipped`);
      continue;
    }
    let started = false;
    const t0 = performance.now();
    try {
      const result = await pipeline.run(video.file, {
        outDir: out,
        stem: video.stem,
        onProgress: (p) => {
          if (!started) {
            progress.start(label, p.total);
            started = true;
          }
          progress.update(p.done, p.total, `| ${p.faces} face(s)`);
        },
      });
      progress.stop();
      results.push(result);
      shardRun?.done(video, result, pipeline.provider);
      const fps = result.frames / Math.max(result.seconds, 1e-9);
      const cached = result.cache === 'full' ? ' (from cache)' : result.cache === 'partial' ? ' (tracking from cache)' : '';
      progress.log(`✓ ${label}: ${result.frames} frames, ${result.faceRows} face rows, face ids [${result.faceIds.join(', ')}], ${fps.toFixed(1)} fps${cached} → ${path.basename(result.outputs.facesCsv)}`);
      for (const w of [...(video.renamed ? [video.renamed] : []), ...result.warnings]) progress.log(`  ! ${w}`);
    } catch (err) {
      progress.stop();
      if (!(err instanceof UserError)) {
        if (process.env.AFFECT_STUDIO_DEBUG) console.error(err);
      }
      const msg = describeError(err);
      failures.push({ file: video.file, error: msg });
      shardRun?.failed(video, msg, (performance.now() - t0) / 1000);
      progress.log(`✗ ${label}: ${msg.replace(`${video.file}: `, '')}`);
    }
  }
  progress.log(`done: ${results.length} succeeded, ${failures.length} failed${failures.length ? ` (${failures.map((f) => path.basename(f.file)).join(', ')})` : ''}`);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ out, executionProvider: pipeline.provider, providerAttempts: pipeline.sessions.attempts, results, failures }, null, 2)}\n`);
  }
  if (shardRun && plan) {
    shardRun.finish();
    mergeIfLast(out, plan.spec, (line) => progress.log(line));
  }
  return failures.length ? 1 : 0;
}
