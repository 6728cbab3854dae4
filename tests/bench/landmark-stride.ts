#!/usr/bin/env node
/**
 * What FaceMesh at stride 2 would cost in output quality (`node dist/tests/bench/landmark-stride.js`),
 * the "cheaper frames" lever, measured before building it. For each sample clip:
 *  1. `predict` (starter bundle) with a fresh feature cache: the reference CSV;
 *  2. in a copy of the cache entry, every second face row of a track gets the mean of its neighbours'
 *     geometry (crop square, roll, keypoints, 468 landmarks) — what linear interpolation between
 *     FaceMesh runs on even frames would give — and the extractors' files are removed;
 *  3. `predict` again on that copy: the extractors replay the changed geometry on the real pixels.
 * The same replay without the change gives the reference bytes (checked and printed), so every
 * difference comes from the interpolated landmarks. It is a lower bound: the real variant would also
 * place the next crops from older landmarks.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { decodeGeometry, fileSha256, GEOMETRY_COLS } from '../../electron/engine/features/cache.js';
import { NpyWriter, readNpyHeader, readNpyRows } from '../../models/data/npy.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const cli = path.join(repo, 'dist/electron/cli/main.js');
const CLIPS = ['WolfgangLanger_Pexels', 'single_face'];

type Row = Record<string, string>;
const readCsv = (file: string): Row[] => parse(readFileSync(file), { columns: true }) as Row[];

function predict(video: string, cache: string, out: string): string {
  execFileSync(process.execPath, [cli, 'predict', video, '-o', out, '--ep', 'cpu'], { env: { ...process.env, AFFECT_STUDIO_CACHE: cache }, stdio: 'ignore' });
  return path.join(out, `${path.basename(video, '.mp4')}.csv`);
}

/** The one entry of a one-video cache. */
function entryOf(cache: string): string {
  const videos = path.join(cache, 'features');
  const [video] = readdirSync(videos);
  const [key] = readdirSync(path.join(videos, video));
  return path.join(videos, video, key);
}

/** Copies the cache without the extractors' files, so that `predict` recomputes them from the geometry. */
function replayable(cache: string, to: string): string {
  rmSync(to, { recursive: true, force: true });
  cpSync(cache, to, { recursive: true });
  const entry = entryOf(to);
  for (const f of readdirSync(entry)) if (/@\d+\.npy(\.sha256)?$/.test(f)) rmSync(path.join(entry, f));
  return entry;
}

/** Interpolates every second row of each track; returns the landmark displacement (px) and inter-ocular distances. */
async function interpolate(entry: string): Promise<{ errors: number[]; frameMeans: number[]; iod: number[]; rows: number; changed: number }> {
  const file = path.join(entry, 'geometry.npy');
  const info = readNpyHeader(file);
  const g = readNpyRows(file, info, 0, info.rows).slice();
  const orig = g.slice();
  const rows = readCsv(path.join(entry, 'faces.csv'));
  const tracks = new Map<string, number[]>();
  rows.forEach((r, i) => {
    if (r.face_id !== '') tracks.set(r.face_id, [...(tracks.get(r.face_id) ?? []), i]);
  });
  const errors: number[] = [];
  const frameMeans: number[] = [];
  const iod: number[] = [];
  let changed = 0;
  for (const idx of tracks.values()) {
    for (let k = 1; k < idx.length - 1; k += 2) {
      const [a, i, b] = [idx[k - 1], idx[k], idx[k + 1]];
      if (Number(rows[b].frame) - Number(rows[a].frame) !== 2) continue;
      for (let c = 0; c < GEOMETRY_COLS; c++) g[i * GEOMETRY_COLS + c] = (orig[a * GEOMETRY_COLS + c] + orig[b * GEOMETRY_COLS + c]) / 2;
      // the geometry row's layout is cache.ts's: read it back through decodeGeometry
      const row = (data: Float32Array): ReturnType<typeof decodeGeometry> => decodeGeometry(data.subarray(i * GEOMETRY_COLS, (i + 1) * GEOMETRY_COLS));
      const [now, was] = [row(g), row(orig)];
      const points = was.landmarks.length / 3;
      let sum = 0;
      for (let p = 0; p < points; p++) {
        const e = Math.hypot(now.landmarks[3 * p] - was.landmarks[3 * p], now.landmarks[3 * p + 1] - was.landmarks[3 * p + 1]);
        errors.push(e);
        sum += e;
      }
      frameMeans.push(sum / points);
      const [leftEye, rightEye] = was.keypoints; // the first two keypoints are the eye centres
      iod.push(Math.hypot(leftEye[0] - rightEye[0], leftEye[1] - rightEye[1]));
      changed++;
    }
  }
  const w = new NpyWriter(file, GEOMETRY_COLS);
  for (let i = 0; i < info.rows; i++) w.append(g.subarray(i * GEOMETRY_COLS, (i + 1) * GEOMETRY_COLS));
  w.close();
  writeFileSync(`${file}.sha256`, `${await fileSha256(file)}\n`);
  return { errors, frameMeans, iod, rows: rows.length, changed };
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

/** Max and mean absolute difference over columns, and the share of rows with the same expression. */
function compare(reference: Row[], variant: Row[]): Record<string, string> {
  if (reference.length !== variant.length) throw new Error('the two runs wrote different numbers of rows');
  const cols = Object.keys(reference[0]);
  const groups: [string, string[], number][] = [
    ['V/A', ['valence', 'arousal'], 3],
    ['AU probabilities', cols.filter((c) => /^AU\d+$/.test(c)), 3],
    ['expression probabilities', ['Neutral', 'Anger', 'Disgust', 'Fear', 'Happiness', 'Sadness', 'Surprise', 'Other'], 3],
    ['head pose (°)', ['pose_pitch', 'pose_yaw', 'pose_roll'], 2],
    ['gaze (°)', ['gaze_x', 'gaze_y'], 2],
  ];
  const out: Record<string, string> = {};
  for (const [name, cs, digits] of groups) {
    const d = reference.flatMap((r, i) => cs.map((c) => Math.abs(Number(r[c]) - Number(variant[i][c])))).filter((x) => Number.isFinite(x));
    out[name] = `${Math.max(...d).toFixed(digits)} / ${mean(d).toFixed(digits + 1)}`;
  }
  out.expression = `${((100 * reference.filter((r, i) => r.expression === variant[i].expression).length) / reference.length).toFixed(1)} %`;
  return out;
}

const work = path.join(os.tmpdir(), 'affect-studio-bench', 'landmark-stride');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
console.log('FaceMesh at stride 2, landmarks interpolated on odd frames, vs every frame (starter bundle; max / mean abs difference):\n');
console.log('| clip | rows interpolated | landmark error px: mean / p95 / max | mean error ÷ inter-ocular | replay unchanged | V/A | AU probabilities | expression probabilities | expression agreement | head pose (°) | gaze (°) |');
console.log('|---|---:|---|---:|---|---|---|---|---:|---|---|');
for (const clip of CLIPS) {
  const video = path.join(repo, 'samples', `${clip}.mp4`);
  const cache = path.join(work, clip, 'cache');
  const reference = predict(video, cache, path.join(work, clip, 'reference'));
  replayable(cache, path.join(work, clip, 'control'));
  const control = predict(video, path.join(work, clip, 'control'), path.join(work, clip, 'control-out'));
  const same = readFileSync(control).equals(readFileSync(reference));
  const entry = replayable(cache, path.join(work, clip, 'stride2'));
  const m = await interpolate(entry);
  const variant = predict(video, path.join(work, clip, 'stride2'), path.join(work, clip, 'stride2-out'));
  const c = compare(readCsv(reference), readCsv(variant));
  const relative = mean(m.frameMeans.map((e, i) => e / m.iod[i]));
  console.log(`| ${clip} | ${m.changed} of ${m.rows} | ${mean(m.errors).toFixed(2)} / ${quantile(m.errors, 0.95).toFixed(2)} / ${Math.max(...m.errors).toFixed(2)} | ${(100 * relative).toFixed(2)} % | ${same ? 'same bytes' : 'DIFFERENT (the comparison is void)'} | ${c['V/A']} | ${c['AU probabilities']} | ${c['expression probabilities']} | ${c.expression} | ${c['head pose (°)']} | ${c['gaze (°)']} |`);
}
