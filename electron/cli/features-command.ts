/**
 * `affect-studio features <video|folder>... --out DIR`: tracked faces and per-frame feature vectors.
 */
import path from 'node:path';
import { Command } from 'commander';
import { FeaturePipeline, type VideoFeaturesResult } from '../engine/features/pipeline.js';
import { BUILTIN_EXTRACTORS, DEFAULT_EXTRACTORS } from '../engine/features/registry.js';
import { collectVideos } from '../engine/jobs/inputs.js';
import { resolveVideoTools } from '../engine/video/binaries.js';
import { describeError } from '../engine/errors.js';
import { addRuntimeOptions, ensureWritableDir, nonNegativeInt, positiveInt, probability, seconds } from './options.js';
import { createProgress } from './progress.js';

interface FeaturesFlags {
  out: string;
  extractors: string;
  stride: number;
  start?: number;
  end?: number;
  maxSide: number;
  detectEvery: number;
  minFaceScore: number;
  minDetectionScore: number;
  maxFaces: number;
  reid: boolean;
  cache: string | boolean;
  ep: string;
  threads?: number;
  ffmpeg?: string;
  ffprobe?: string;
  json?: boolean;
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
    .option('--stride <n>', 'process every n-th frame (frame numbers stay those of the full video)', positiveInt, 1)
    .option('--start <seconds>', 'skip frames before this time', seconds)
    .option('--end <seconds>', 'stop at this time', seconds)
    .option('--max-side <pixels>', 'downscale frames whose longer side exceeds this before finding faces (0: never)', nonNegativeInt, 1280)
    .option('--detect-every <n>', 'run the face detector every n frames while faces are tracked (new faces are found within n frames)', positiveInt, 5)
    .option('--min-detection-score <p>', 'detector confidence a face needs to start a track', probability, 0.7)
    .option('--min-face-score <p>', 'landmark-model confidence needed to keep a face in a frame', probability, 0.75)
    .option('--max-faces <n>', 'keep at most n faces per frame, largest first (0: no limit)', nonNegativeInt, 0)
    .option('--no-reid', 'do not re-identify faces that leave and come back (each return gets a new face_id)')
    .option('--cache <dir>', 'feature cache folder (default: $AFFECT_STUDIO_CACHE/features or the user cache folder)')
    .option('--no-cache', 'do not read or write the feature cache')
    .option('--json', 'print a JSON summary of the run to stdout');
  addRuntimeOptions(cmd);
  return cmd.action(async (inputs: string[], flags: FeaturesFlags) => {
    process.exitCode = await runFeatures(inputs, flags);
  });
}

async function runFeatures(inputs: string[], flags: FeaturesFlags): Promise<number> {
  const out = ensureWritableDir(flags.out);
  const tools = resolveVideoTools({ ffmpeg: flags.ffmpeg, ffprobe: flags.ffprobe });
  const { videos, problems } = collectVideos(inputs);
  const progress = createProgress();
  for (const p of problems) progress.log(`✗ ${p.path}: ${p.message}`);
  if (!videos.length) {
    progress.log('nothing to do: no video files among the inputs');
    return 2;
  }
  const pipeline = await FeaturePipeline.create({
    tools,
    extractors: flags.extractors.split(',').map((s) => s.trim()).filter(Boolean),
    provider: flags.ep as never,
    threads: flags.threads,
    stride: flags.stride,
    start: flags.start,
    end: flags.end,
    maxSide: flags.maxSide,
    tracker: { detectEvery: flags.detectEvery, minFaceScore: flags.minFaceScore, maxFaces: flags.maxFaces },
    minDetectionScore: flags.minDetectionScore,
    reid: flags.reid,
    cacheDir: flags.cache === false ? false : typeof flags.cache === 'string' ? path.resolve(flags.cache) : undefined,
  });
  progress.log(`features: ${videos.length} video(s) → ${out} | extractors ${pipeline.extractors.map((e) => `${e.id} (${e.dim})`).join(', ')} | D = ${pipeline.columns.length} | models on ${pipeline.provider}`);

  const results: VideoFeaturesResult[] = [];
  const failures: { file: string; error: string }[] = problems.map((p) => ({ file: p.path, error: p.message }));
  for (const [i, video] of videos.entries()) {
    const label = `[${i + 1}/${videos.length}] ${path.basename(video.file)}`;
    let started = false;
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
      const fps = result.frames / Math.max(result.seconds, 1e-9);
      const cached = result.cache === 'full' ? ' (from cache)' : result.cache === 'partial' ? ' (tracking from cache)' : '';
      progress.log(`✓ ${label}: ${result.frames} frames, ${result.faceRows} face rows, face ids [${result.faceIds.join(', ')}], ${fps.toFixed(1)} fps${cached} → ${path.basename(result.outputs.facesCsv)}`);
      for (const w of result.warnings) progress.log(`  ! ${w}`);
    } catch (err) {
      progress.stop();
      if (!(err instanceof Error) || err.name !== 'UserError') {
        if (process.env.AFFECT_STUDIO_DEBUG) console.error(err);
      }
      const msg = describeError(err);
      failures.push({ file: video.file, error: msg });
      progress.log(`✗ ${label}: ${msg.replace(`${video.file}: `, '')}`);
    }
  }
  progress.log(`done: ${results.length} succeeded, ${failures.length} failed${failures.length ? ` (${failures.map((f) => path.basename(f.file)).join(', ')})` : ''}`);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ out, executionProvider: pipeline.provider, providerAttempts: pipeline.sessions.attempts, results, failures }, null, 2)}\n`);
  }
  return failures.length ? 1 : 0;
}
