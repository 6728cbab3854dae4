/**
 * Features of already-aligned face images (s-Aff-Wild2's `cropped_aligned/<video>/<NNNNN>.jpg`):
 * no detection — each image is one face, roughly centred; FaceMesh runs on the whole image, then
 * again on the crop its landmarks give, and the registered extractors take their crops from there.
 *
 * Written as `<cache>/aligned/<key>/<video>.npy` (row k−1 = frame k, NaN for frames without an
 * image), the layout the trainer reads; `<video>.frames.json` records which frames a file covers,
 * so adding annotations later extracts only what is missing.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NpyWriter } from '../../../models/data/npy.js';
import { cacheRoot, writeFileAtomic } from '../../../common/node/storage.js';
import { UserError } from '../../../common/errors.js';
import { FaceMesh, fivePoints, roiFromLandmarks, rollOf } from '../face/landmarks.js';
import { SessionFactory, type ExecutionProviderChoice } from '../onnx/sessions.js';
import type { Frame } from '../video/decode.js';
import { shortHash } from './cache.js';
import type { FaceGeometry, FeatureExtractor } from './extractor.js';
import { createExtractors } from './registry.js';

/** Bump when the way aligned images are turned into features changes. */
const ALIGNED_VERSION = 1;
/** The aligned faces fill their images: a crop this much larger than the image frames the mesh. */
const FIRST_ROI_SCALE = 1.4;

/** Decodes a list of image files (any size) into frames of one size, in order, with one ffmpeg. */
async function* decodeImages(ffmpeg: string, files: string[], size: number, workDir: string): AsyncGenerator<Buffer> {
  const list = path.join(workDir, `images-${process.pid}-${Date.now()}.txt`);
  writeFileSync(list, files.map((f) => `file '${f.replace(/'/g, "'\\''")}'\nduration 1`).join('\n'));
  const proc = spawn(ffmpeg, ['-v', 'error', '-nostdin', '-f', 'concat', '-safe', '0', '-i', list, '-vf', `scale=${size}:${size}`, '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const bytes = size * size * 3;
  let pending = Buffer.alloc(0);
  let count = 0;
  try {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= bytes) {
        yield pending.subarray(0, bytes);
        pending = pending.subarray(bytes);
        count++;
      }
    }
    const code = await new Promise<number | null>((resolve) => (proc.exitCode !== null ? resolve(proc.exitCode) : proc.on('close', resolve)));
    if (code !== 0 || count !== files.length) {
      throw new UserError(`decoded ${count} of ${files.length} images (${stderr.trim().split('\n').pop() ?? `exit ${code}`})`, 'check that the images are readable JPEG/PNG files', path.dirname(files[0]));
    }
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    rmSync(list, { force: true });
  }
}

export interface AlignedOptions {
  ffmpeg: string;
  extractors: string[];
  provider?: ExecutionProviderChoice;
  /** Image size everything is decoded to (s-Aff-Wild2's crops are 112 × 112). */
  size?: number;
  cacheDir?: string;
  onProgress?: (video: string, done: number, total: number) => void;
}

/**
 * Ensures a features file for every video of `wanted` (video → frame numbers needing features) and
 * returns the folder holding them.
 */
export async function alignedImageFeatures(imageRoot: string, wanted: Map<string, number[]>, o: AlignedOptions): Promise<{ dir: string; dim: number; sources: { id: string; version: string; dim: number }[] }> {
  const sessions = new SessionFactory({ provider: o.provider });
  const mesh = await FaceMesh.create(sessions);
  const extractors = await createExtractors(o.extractors, sessions);
  const dim = extractors.reduce((a, e) => a + e.dim, 0);
  const size = o.size ?? 112;
  const key = shortHash({ v: ALIGNED_VERSION, root: path.resolve(imageRoot), size, extractors: extractors.map((e) => `${e.id}@${e.version}`) });
  const dir = path.join(o.cacheDir ?? path.join(cacheRoot(), 'aligned'), key);
  mkdirSync(dir, { recursive: true });
  for (const [video, frames] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
    const npy = path.join(dir, `${video}.npy`);
    const covered = path.join(dir, `${video}.frames.json`);
    if (existsSync(npy) && existsSync(covered)) {
      const have = new Set(JSON.parse(readFileSync(covered, 'utf8')) as number[]);
      if (frames.every((f) => have.has(f))) continue;
    }
    const present = frames.filter((f) => existsSync(path.join(imageRoot, video, `${String(f).padStart(5, '0')}.jpg`))).sort((a, b) => a - b);
    if (!present.length) throw new UserError(`no images for video "${video}" (expected ${video}/${String(frames[0]).padStart(5, '0')}.jpg …)`, 'check the cropped_aligned folder', path.join(imageRoot, video));
    const rows = await extractVideo(imageRoot, video, present, { ffmpeg: o.ffmpeg, size, mesh, extractors, dir, onProgress: o.onProgress });
    const tmp = `${npy}.${process.pid}.tmp`;
    const w = new NpyWriter(tmp, dim);
    const last = Math.max(...frames);
    for (let k = 1; k <= last; k++) w.append(rows.get(k));
    w.close();
    renameSync(tmp, npy);
    writeFileAtomic(covered, JSON.stringify(present));
  }
  return { dir, dim, sources: extractors.map((e) => ({ id: e.id, version: e.version, dim: e.dim })) };
}

async function extractVideo(root: string, video: string, frames: number[], o: { ffmpeg: string; size: number; mesh: FaceMesh; extractors: FeatureExtractor[]; dir: string; onProgress?: AlignedOptions['onProgress'] }): Promise<Map<number, Float32Array>> {
  const files = frames.map((f) => path.join(root, video, `${String(f).padStart(5, '0')}.jpg`));
  const rows = new Map<number, Float32Array>();
  const dim = o.extractors.reduce((a, e) => a + e.dim, 0);
  let i = 0;
  for await (const rgb of decodeImages(o.ffmpeg, files, o.size, o.dir)) {
    const frame: Frame = { frame: frames[i], time: 0, width: o.size, height: o.size, rgb };
    const first = await o.mesh.run(frame, [{ center: [o.size / 2, o.size / 2], side: o.size * FIRST_ROI_SCALE, angle: 0 }]);
    const [refined] = await o.mesh.run(frame, [roiFromLandmarks(first[0].landmarks)]);
    const lm = refined.landmarks;
    const face: FaceGeometry = { roi: roiFromLandmarks(lm), keypoints: fivePoints(lm), landmarks: lm, roll: rollOf(lm) };
    const row = new Float32Array(dim);
    let off = 0;
    for (const e of o.extractors) {
      const [v] = await e.run(frame, [face]);
      row.set(v, off);
      off += e.dim;
    }
    rows.set(frames[i], row);
    i++;
    if (i % 50 === 0 || i === frames.length) o.onProgress?.(video, i, frames.length);
  }
  return rows;
}
