/**
 * The whole pipeline as users run it (`affect-studio predict|features`, whole processes, no cache),
 * each figure a median of runs and a ratio to decode-only speed measured in the same run; peak
 * memory of `predict` on 1-, 10- and 60-minute loops of the clip; and each face model alone.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { writeTemporalBundle } from '../../models/bundle/write.js';
import { parseTemporalConfig } from '../../models/temporal/config.js';
import { initWeights } from '../../models/temporal/params.js';
import { ensureFaceModel, ensureInt8FaceModel, FACE_MODELS, INT8_MODELS, type FaceModelId } from '../../models/pretrained/face-models.js';
import { SessionFactory, type ExecutionProviderChoice } from '../../electron/engine/onnx/sessions.js';
import { resolveVideoTools } from '../../electron/engine/video/binaries.js';
import { probeVideo } from '../../electron/engine/video/probe.js';
import { VideoDecoder } from '../../electron/engine/video/decode.js';
import { facesPerCall } from '../../electron/engine/features/image-model.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tools = resolveVideoTools();

export interface PipelineBenchOptions {
  clip: string;
  work: string;
  quick: boolean;
  ep: ExecutionProviderChoice;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The clip looped to `seconds` (stream copy: no re-encoding, same content). */
function loop(clip: string, work: string, seconds: number): string {
  const out = path.join(work, `${path.basename(clip, path.extname(clip))}-${seconds}s.mp4`);
  if (!existsSync(out)) execFileSync(tools.ffmpeg, ['-v', 'error', '-y', '-stream_loop', '-1', '-i', clip, '-t', String(seconds), '-c', 'copy', '-an', out]);
  return out;
}

/**
 * ffmpeg alone: the same frames (RGB, full size) through a pipe whose reader drops them. The
 * stricter baseline: it leaves out the frame timestamps (showinfo) and the assembly of frames the
 * pipeline's reader does.
 */
function ffmpegAlone(file: string, frames: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(tools.ffmpeg, ['-v', 'error', '-nostdin', '-i', file, '-map', '0:v:0', '-an', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.on('data', () => undefined);
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(frames / ((performance.now() - t0) / 1000)) : reject(new Error(`ffmpeg exited with ${code}`))));
  });
}

/** Decode-only speed: ffmpeg → RGB frames through a pipe into this process, as the pipeline reads them. */
async function decode(file: string): Promise<{ fps: number; frames: number }> {
  const info = await probeVideo(file, tools.ffprobe);
  const t0 = performance.now();
  let frames = 0;
  for await (const _ of new VideoDecoder(info, { ffmpeg: tools.ffmpeg, maxSide: 1280 })) frames++;
  return { fps: frames / ((performance.now() - t0) / 1000), frames };
}

/**
 * A trained-bundle stand-in: the laptop GRU preset's architecture reading all three default
 * extractors (2691 values a frame), per-sequence normalisation; random weights, which change no
 * timing and no memory.
 */
function trainedBundle(work: string): string {
  const dir = path.join(work, 'gru-3-extractors');
  if (existsSync(path.join(dir, 'bundle.json'))) return dir;
  const extractors = [{ id: 'expression', version: '1', dim: 263 }, { id: 'faceres', version: '1', dim: 1024 }, { id: 'landmarks', version: '1', dim: 1404 }];
  const config = parseTemporalConfig({ inputDim: 2691, encoder: { type: 'gru', layers: 2, hidden: 128 }, heads: { hidden: [512, 256] }, segmentLength: 250 });
  return writeTemporalBundle(dir, {
    id: 'bench-gru', version: '0.0.1', description: 'benchmark stand-in: laptop GRU on the three default extractors, random weights', config, weights: initWeights(config, 3), extractors,
    normalization: { type: 'per-sequence' }, smoothing: { valence: 5, arousal: 5 }, provenance: { summary: 'untrained: random weights', trainedOn: 'nothing' },
  });
}

interface CliRun {
  seconds: number;
  maxRssMiB: number;
  models: { label: string; provider: string }[];
}

/** One whole `affect-studio` process: wall time (process start to exit) and peak memory. */
function cli(args: string[], work: string): CliRun {
  const out = path.join(work, 'out');
  rmSync(out, { recursive: true, force: true });
  const result = path.join(work, 'result.json');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(here, 'rss-child.js'), result, ...args, '--out', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  const { code, maxRssMiB } = JSON.parse(readFileSync(result, 'utf8')) as { code: number; maxRssMiB: number };
  if (code !== 0) throw new Error(`affect-studio ${args.join(' ')} exited with ${code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const runJson = path.join(out, 'run.json');
  const featuresJson = existsSync(out) ? path.join(out, `${path.basename(args[1], path.extname(args[1]))}.features.json`) : '';
  const models = existsSync(runJson) ? (JSON.parse(readFileSync(runJson, 'utf8')) as { models?: CliRun['models'] }).models
    : existsSync(featuresJson) ? (JSON.parse(readFileSync(featuresJson, 'utf8')) as { models?: CliRun['models'] }).models : undefined;
  return { seconds, maxRssMiB, models: models ?? [] };
}

/** Each face model alone: ms per face, one thread, float and int8, on the chosen provider. */
async function modelTable(say: (s: string) => void, ep: ExecutionProviderChoice): Promise<void> {
  say('\nEach face model alone, one ONNX Runtime thread, ms per face (median of 5 rounds; batches of up to 8 faces where the pipeline batches, FaceRes one face per call as in the pipeline):\n');
  say('| model | input | float32 | int8 |');
  say('|---|---|---:|---:|');
  // the expression CNN reads grayscale; the others RGB
  const channelsOf = (id: FaceModelId): number => (id === 'emotion' ? 1 : 3);
  const timed = async (file: string, id: FaceModelId, batch: number): Promise<string> => {
    const sessions = new SessionFactory({ provider: ep, threads: 1 });
    const s = await sessions.create(file, id);
    const size = FACE_MODELS[id].inputSize;
    const channels = channelsOf(id);
    const data = new Float32Array(batch * size * size * channels).map((_, i) => (i % 251) / 251);
    const feeds = { input: { data, dims: [batch, size, size, channels] } };
    await s.run(feeds);
    const rounds: number[] = [];
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      for (let i = 0; i < 10; i++) await s.run(feeds);
      rounds.push((performance.now() - t0) / 10 / batch);
    }
    await s.release();
    return `${median(rounds).toFixed(2)} (${s.provider})`;
  };
  for (const id of Object.keys(FACE_MODELS) as FaceModelId[]) {
    // BlazeFace takes one frame; FaceMesh follows faces frame by frame; the others get batches of up
    // to 8 faces (a batch of 8 frames, one face each), capped by values per call (FaceRes: one face)
    const batch = id === 'blazeface' || id === 'facemesh' ? 1 : Math.min(8, facesPerCall(FACE_MODELS[id].inputSize ** 2 * channelsOf(id)));
    const int8 = (Object.values(INT8_MODELS) as string[]).includes(id) ? await timed(ensureInt8FaceModel(id as 'emotion'), id, batch) : '—';
    say(`| ${id} | ${FACE_MODELS[id].inputSize}² × batch ${batch} | ${await timed(ensureFaceModel(id), id, batch)} | ${int8} |`);
  }
}

export async function pipelineBench(say: (s: string) => void, o: PipelineBenchOptions): Promise<void> {
  const work = path.join(o.work, 'pipeline');
  mkdirSync(work, { recursive: true });
  const reps = o.quick ? 1 : 3;
  const ep = ['--ep', o.ep];
  say(`# Pipeline — ${new Date().toISOString()}`);
  say(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the start; --ep ${o.ep}; whole processes, --no-cache, median of ${reps}\n`);
  const minute = loop(o.clip, work, 60);
  const trained = trainedBundle(work);

  const rows: { name: string; args: string[]; target?: number }[] = [
    { name: '`predict`, starter bundle (default: gaze on)', args: ['predict', minute, ...ep, '--no-cache'], target: 0.25 },
    { name: '`predict`, starter bundle, `--no-gaze`', args: ['predict', minute, ...ep, '--no-cache', '--no-gaze'] },
    { name: '`predict`, starter bundle, `--int8`', args: ['predict', minute, ...ep, '--no-cache', '--int8'] },
    { name: '`predict`, trained bundle reading the 3 extractors', args: ['predict', minute, ...ep, '--no-cache', '-b', trained] },
    { name: '`features`, expression + faceres + landmarks (default)', args: ['features', minute, ...ep, '--no-cache'], target: 0.15 },
    { name: '`features`, the same, `--int8`', args: ['features', minute, ...ep, '--no-cache', '--int8'] },
    { name: '`features`, the same, extractors in the tracking thread (`--workers 0`)', args: ['features', minute, ...ep, '--no-cache', '--workers', '0'] },
    { name: '`features`, the same, 2 ONNX Runtime threads a call (`--threads 2`)', args: ['features', minute, ...ep, '--no-cache', '--threads', '2'] },
  ];
  const decodes: number[] = [];
  const plain: number[] = [];
  const results = rows.map(() => [] as CliRun[]);
  let frames = 0;
  // interleaved rounds: drift of a shared machine spreads over every row alike
  for (let k = 0; k < reps; k++) {
    const d = await decode(minute);
    decodes.push(d.fps);
    frames = d.frames;
    plain.push(await ffmpegAlone(minute, frames));
    rows.forEach((row, i) => results[i].push(cli(row.args, work)));
  }
  const base = median(decodes);
  const alone = median(plain);
  say(`| work (1-minute loop of the clip, ${frames} frames) | wall (s) | frames/s | ÷ decode | ÷ ffmpeg alone | peak RSS (MiB) |`);
  say('|---|---:|---:|---:|---:|---:|');
  say(`| decode only (ffmpeg → RGB through a pipe, read as the pipeline reads it), **baseline** | ${(frames / base).toFixed(2)} | ${base.toFixed(0)} | 1.000 | ${(base / alone).toFixed(3)} | — |`);
  say(`| ffmpeg alone (the same RGB frames into a pipe whose reader drops them) | ${(frames / alone).toFixed(2)} | ${alone.toFixed(0)} | ${(alone / base).toFixed(3)} | 1.000 | — |`);
  rows.forEach((row, i) => {
    const s = median(results[i].map((r) => r.seconds));
    const ratio = frames / s / base;
    const mark = row.target === undefined ? '' : ` (target ${row.target}: ${ratio >= row.target ? 'met' : 'NOT met'})`;
    say(`| ${row.name} | ${s.toFixed(2)} | ${(frames / s).toFixed(0)} | **${ratio.toFixed(3)}**${mark} | ${(frames / s / alone).toFixed(3)} | ${median(results[i].map((r) => r.maxRssMiB)).toFixed(0)} |`);
  });
  const models = results[3][0].models;
  if (models.length) say(`\nModels and the provider each ran on (trained-bundle predict): ${models.map((m) => `${m.label} → ${m.provider}`).join(', ')}.`);

  say('\nPeak memory of `predict` as the video gets longer (the acted clip looped; whole process, no cache, one run each):\n');
  say('| video | frames | starter bundle: frames/s | starter: peak RSS (MiB) | trained bundle: frames/s | trained: peak RSS (MiB) |');
  say('|---|---:|---:|---:|---:|---:|');
  const lengths = o.quick ? [60, 600] : [60, 600, 3600];
  const rss: { starter: number[]; trained: number[] } = { starter: [], trained: [] };
  for (const seconds of lengths) {
    const video = loop(o.clip, work, seconds);
    const n = seconds === 60 ? frames : Math.round((frames * seconds) / 60);
    const a = seconds === 60 ? { seconds: median(results[0].map((r) => r.seconds)), maxRssMiB: median(results[0].map((r) => r.maxRssMiB)) } : cli(['predict', video, ...ep, '--no-cache'], work);
    const b = seconds === 60 ? { seconds: median(results[3].map((r) => r.seconds)), maxRssMiB: median(results[3].map((r) => r.maxRssMiB)) } : cli(['predict', video, ...ep, '--no-cache', '-b', trained], work);
    rss.starter.push(a.maxRssMiB);
    rss.trained.push(b.maxRssMiB);
    say(`| ${seconds / 60}-minute loop | ${n} | ${(n / a.seconds).toFixed(0)} | ${a.maxRssMiB.toFixed(0)} | ${(n / b.seconds).toFixed(0)} | ${b.maxRssMiB.toFixed(0)} |`);
  }
  const spread = (xs: number[]): string => `${((100 * (Math.max(...xs) - Math.min(...xs))) / Math.min(...xs)).toFixed(1)} %`;
  say(`\nSpread of peak RSS over the lengths (target ≤ 10 %): starter ${spread(rss.starter)}, trained ${spread(rss.trained)}.`);
  await modelTable(say, o.ep);
}

/** `npm run bench -- --ep webgpu`: a provider that cannot start here says why, instead of a stack. */
export async function providerUsable(ep: ExecutionProviderChoice): Promise<string | undefined> {
  if (ep === 'auto' || ep === 'cpu') return undefined;
  try {
    await ort.InferenceSession.create(ensureFaceModel('emotion'), { executionProviders: [ep], logSeverityLevel: 3 });
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}
