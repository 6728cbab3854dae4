#!/usr/bin/env node
/**
 * Benchmarks (`npm run bench`): the features pipeline (where the time goes, whether memory stays
 * flat) and the temporal models (./temporal-bench.ts).
 *
 * Every figure is also given as a ratio to decode-only speed measured in the same run, because
 * these machines are shared and absolute numbers drift. Stage figures are "frames per second of
 * that stage alone" (frames ÷ time spent in the stage) on the decoded frames of the clip.
 *
 *   npm run bench                      everything (≈ 10 minutes on 2 cores)
 *   npm run bench -- --quick           no 10-minute video, no paper-size models
 *   npm run bench -- --only=temporal   one part (features | temporal | train | cluster)
 *   npm run bench -- --only=train-table [--gru-epochs=6]
 *                                      what each laptop preset learns on the synthetic set in equal
 *                                      time (≈ 30 minutes; not part of the default run)
 */
import { DEFAULT_FACE_SETTINGS } from '../../electron/engine/features/face-settings.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionFactory } from '../../electron/engine/onnx/sessions.js';
import { FaceDetector } from '../../electron/engine/face/detector.js';
import { FaceMesh } from '../../electron/engine/face/landmarks.js';
import { FaceTracker, type TrackedFace } from '../../electron/engine/face/tracker.js';
import { createExtractors } from '../../electron/engine/features/registry.js';
import { FeaturePipeline } from '../../electron/engine/features/pipeline.js';
import { resolveVideoTools } from '../../electron/engine/video/binaries.js';
import { probeVideo } from '../../electron/engine/video/probe.js';
import { VideoDecoder, type Frame } from '../../electron/engine/video/decode.js';
import { temporalBench } from './temporal-bench.js';
import { trainBench } from './train-bench.js';
import { clusterBench } from './cluster-bench.js';
import { trainTable } from './train-table.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const clip = path.resolve(repo, 'samples/WolfgangLanger_Pexels.mp4');
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const tools = resolveVideoTools();
const work = path.join(os.tmpdir(), 'affect-studio-bench');
mkdirSync(work, { recursive: true });

if (!existsSync(clip)) {
  console.error(`benchmark needs ${clip} (the shared sample clips); it is absent on this machine`);
  process.exit(2);
}

/** The clip looped to `seconds` (stream copy: no re-encoding, same content). */
function longVideo(seconds: number): string {
  const out = path.join(work, `wolfgang-${seconds}s.mp4`);
  if (!existsSync(out)) execFileSync(tools.ffmpeg, ['-v', 'error', '-y', '-stream_loop', '-1', '-i', clip, '-t', String(seconds), '-c', 'copy', '-an', out]);
  return out;
}

async function decodeFps(file: string): Promise<{ fps: number; frames: number }> {
  const info = await probeVideo(file, tools.ffprobe);
  const t0 = performance.now();
  let frames = 0;
  for await (const _ of new VideoDecoder(info, { ffmpeg: tools.ffmpeg, maxSide: 1280 })) frames++;
  return { fps: frames / ((performance.now() - t0) / 1000), frames };
}

/** Decoded frames held in memory so stages are timed without decoding in the loop (the clip is short). */
async function decodedFrames(file: string): Promise<Frame[]> {
  const info = await probeVideo(file, tools.ffprobe);
  const frames: Frame[] = [];
  for await (const f of new VideoDecoder(info, { ffmpeg: tools.ffmpeg, maxSide: 1280 })) frames.push(f);
  return frames;
}

async function stageFps(frames: Frame[]): Promise<Record<string, number>> {
  const sessions = new SessionFactory();
  const detector = await FaceDetector.create(sessions, { minScore: DEFAULT_FACE_SETTINGS.minDetectionScore });
  const mesh = await FaceMesh.create(sessions);
  const extractors = await createExtractors(['expression', 'faceres', 'landmarks'], sessions);
  const time: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    time[name] = (time[name] ?? 0) + performance.now() - t0;
    return r;
  };
  // warm-up: first runs allocate
  for (const f of frames.slice(0, 5)) await detector.detect(f);
  for (const f of frames) await timed('detection (BlazeFace, every frame)', () => detector.detect(f));
  const tracker = new FaceTracker(detector, mesh, DEFAULT_FACE_SETTINGS);
  const tracked: TrackedFace[][] = [];
  for (const f of frames) tracked.push(await timed('tracking (FaceMesh + detection every 5th frame)', () => tracker.process(f)));
  for (const e of extractors) {
    for (const [i, f] of frames.entries()) await timed(`extractor ${e.id}`, () => e.run(f, tracked[i]));
  }
  return Object.fromEntries(Object.entries(time).map(([k, ms]) => [k, frames.length / (ms / 1000)]));
}

async function pipelineFps(file: string): Promise<number> {
  const p = await FeaturePipeline.create({ tools, face: DEFAULT_FACE_SETTINGS, cacheDir: false });
  const r = await p.run(file, { outDir: path.join(work, 'out'), stem: 'bench' });
  return r.frames / r.seconds;
}

function peakRss(file: string): { frames: number; seconds: number; maxRssMiB: number } {
  const child = path.join(here, 'rss-child.js');
  const r = spawnSync(process.execPath, [child, file, path.join(work, 'out-rss')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rss child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

const f1 = (x: number): string => x.toFixed(1);
const ratio = (x: number, base: number): string => (x / base).toFixed(3);

async function featuresBench(say: (s: string) => void): Promise<void> {
  say(`# Features — ${new Date().toISOString()}`);
  say(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}; clip ${path.basename(clip)} (640×360, 472 frames)\n`);
  const decode = await decodeFps(clip);
  const frames = await decodedFrames(clip);
  const stages = await stageFps(frames);
  const whole = await pipelineFps(clip);
  const decode2 = await decodeFps(clip); // again at the end: the baseline drifts on shared machines
  const base = (decode.fps + decode2.fps) / 2;
  say('| stage | fps | ÷ decode-only fps |');
  say('|---|---:|---:|');
  say(`| decode only (ffmpeg → RGB frames), baseline | ${f1(base)} | 1.000 |`);
  for (const [k, v] of Object.entries(stages)) say(`| ${k} | ${f1(v)} | ${ratio(v, base)} |`);
  say(`| **whole features pipeline** (decode + tracking + 3 extractors + writing, default settings) | **${f1(whole)}** | **${ratio(whole, base)}** |`);
  // detection-every-frame is shown for reference; the pipeline runs it inside tracking, every 5th frame
  const perFrame = Object.entries(stages).filter(([k]) => !k.startsWith('detection')).map(([k, v]) => [k.replace(/ \(.*\)/, ''), 1000 / v] as const);
  const total = 1000 / whole;
  const rest = total - perFrame.reduce((a, [, ms]) => a + ms, 0);
  say(`\nWhere the ${total.toFixed(1)} ms of one frame go: ${perFrame.map(([k, ms]) => `${k} ${ms.toFixed(1)} ms`).join(', ')}, ` +
    `the rest ${rest.toFixed(1)} ms (writing files, hashing, contention with ffmpeg, which decodes in parallel at ${(1000 / base).toFixed(1)} ms a frame).`);
  say(`Target: whole pipeline ≥ 60 fps and ≥ 0.25 × decode-only → ${whole >= 60 ? 'met' : 'NOT met'} (${f1(whole)} fps), ${whole / base >= 0.25 ? 'met' : 'NOT met'} (${ratio(whole, base)}).`);

  say('\n| video | frames | pipeline fps | peak RSS (MiB) |');
  say('|---|---:|---:|---:|');
  for (const seconds of quick ? [60] : [60, 600]) {
    const r = peakRss(longVideo(seconds));
    say(`| ${seconds / 60}-minute loop of the clip | ${r.frames} | ${f1(r.frames / r.seconds)} | ${r.maxRssMiB.toFixed(0)} |`);
  }
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const say = (s: string): void => {
    console.log(s);
    lines.push(s);
  };
  if (!only || only === 'features') await featuresBench(say);
  if (!only || only === 'temporal') await temporalBench(say, clip, quick);
  if (!only || only === 'train') await trainBench(say, quick);
  if (!only || only === 'cluster') await clusterBench(say, clip, repo, quick ? 1 : 2);
  if (only === 'train-table') await trainTable(say, { gruEpochs: Number(process.argv.find((a) => a.startsWith('--gru-epochs='))?.slice(13) ?? 6) });
  const outDir = path.join(repo, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'bench.md'), `${lines.join('\n')}\n`);
  console.log(`\nwritten to ${path.join(outDir, 'bench.md')}`);
}

await main();
