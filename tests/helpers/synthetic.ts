/**
 * A synthetic multi-task data set in the s-Aff-Wild2 layout (annotation files + features/<video>.npy),
 * built so that a temporal model has something to learn that a per-frame model cannot:
 * - valence is a slow signal seen through heavy per-frame noise (averaging over time recovers it);
 * - arousal is that signal 10 frames earlier (it needs memory);
 * - each AU is on while its own slow latent is positive, also seen through noise;
 * - the expression follows from the AUs (6+12 happiness, 1+15 sadness, 4+23 anger, else neutral),
 *   with no feature of its own: AUs inform the expression.
 * Some labels are missing (−5 / −1), as in the real data; listed frames skip a few.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NpyWriter } from '../../models/data/npy.js';
import { seededRandom } from '../../models/temporal/params.js';
import { AUS } from '../../common/labels.js';

export const SYNTHETIC_DIM = 16;

function smoothSignal(n: number, r: () => number, period: number): Float32Array {
  const out = new Float32Array(n);
  const parts = Array.from({ length: 3 }, () => ({ f: (0.5 + r()) / period, p: r() * 2 * Math.PI, a: 0.3 + r() * 0.4 }));
  for (let t = 0; t < n; t++) out[t] = Math.tanh(parts.reduce((s, q) => s + q.a * Math.sin(2 * Math.PI * q.f * t + q.p), 0) * 1.5);
  return out;
}

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

export function writeSyntheticSet(root: string, options: { trainVideos?: number; valVideos?: number; frames?: number; seed?: number; /** list every frame */ dense?: boolean } = {}): { root: string; train: string; val: string; features: string } {
  const r = seededRandom(options.seed ?? 42);
  const frames = options.frames ?? 300;
  const features = path.join(root, 'features');
  mkdirSync(features, { recursive: true });
  const header = 'image,valence,arousal,expression,aus';
  const files = { train: [header], val: [header] };
  const au = (name: string) => AUS.indexOf(name as (typeof AUS)[number]);
  const write = (split: 'train' | 'val', v: number) => {
    const video = `${split}-video-${v}`;
    const s = smoothSignal(frames + 10, r, 60);
    const latents = AUS.map(() => smoothSignal(frames, r, 40));
    const w = new NpyWriter(path.join(features, `${video}.npy`), SYNTHETIC_DIM);
    for (let t = 0; t < frames; t++) {
      const row = new Float32Array(SYNTHETIC_DIM);
      row[0] = s[t + 10] + 0.8 * gaussian(r);
      latents.forEach((c, j) => (row[1 + j] = c[t] + 1.0 * gaussian(r)));
      for (let k = 13; k < 16; k++) row[k] = gaussian(r);
      w.append(row);
      if (r() < 0.1 && !options.dense) continue; // not every frame is listed
      const on = latents.map((c) => (c[t] > 0 ? 1 : 0));
      const expr = on[au('AU6')] && on[au('AU12')] ? 4 : on[au('AU1')] && on[au('AU15')] ? 5 : on[au('AU4')] && on[au('AU23')] ? 1 : 0;
      const valence = r() < 0.05 ? -5 : s[t + 10];
      const arousal = valence === -5 ? -5 : s[t];
      const e = r() < 0.05 ? -1 : expr;
      const aus = r() < 0.05 ? AUS.map(() => -1) : on;
      files[split].push(`${video}/${String(t + 1).padStart(5, '0')}.jpg,${valence.toFixed(4)},${arousal.toFixed(4)},${e},${aus.join(',')}`);
    }
    w.close();
  };
  for (let v = 0; v < (options.trainVideos ?? 24); v++) write('train', v);
  for (let v = 0; v < (options.valVideos ?? 8); v++) write('val', v);
  const train = path.join(root, 'training_set_annotations.txt');
  const val = path.join(root, 'validation_set_annotations.txt');
  writeFileSync(train, `${files.train.join('\n')}\n`);
  writeFileSync(val, `${files.val.join('\n')}\n`);
  return { root, train, val, features };
}

/** The same labels in the Aff-Wild2 per-task layout (one file per video and task, line k+1 = frame k). */
export function toPerTaskLayout(set: { train: string; val: string }, root: string): void {
  for (const [file, split] of [[set.train, 'Train_Set'], [set.val, 'Validation_Set']] as const) {
    const byVideo = new Map<string, Map<number, string[]>>();
    for (const line of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
      const f = line.split(',');
      const [video, img] = f[0].split('/');
      const frame = Number(img.slice(0, 5));
      if (!byVideo.has(video)) byVideo.set(video, new Map());
      byVideo.get(video)?.set(frame, f);
    }
    for (const [video, frames] of byVideo) {
      const last = Math.max(...frames.keys());
      const rows = Array.from({ length: last }, (_, i) => frames.get(i + 1));
      const put = (task: string, header: string, cell: (f: string[] | undefined) => string) => {
        mkdirSync(path.join(root, task, split), { recursive: true });
        writeFileSync(path.join(root, task, split, `${video}.txt`), `${header}\n${rows.map(cell).join('\n')}\n`);
      };
      put('VA_Estimation_Challenge', 'valence,arousal', (f) => (f ? `${f[1]},${f[2]}` : '-5,-5'));
      put('EXPR_Recognition_Challenge', 'Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other', (f) => (f ? f[3] : '-1'));
      put('AU_Detection_Challenge', AUS.join(','), (f) => (f ? f.slice(4).join(',') : AUS.map(() => '-1').join(',')));
    }
  }
}
