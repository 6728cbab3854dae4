/**
 * Small real media files for tests, made on the spot with the bundled ffmpeg (so they need no
 * download and no committed binaries), plus access to the shared face videos when present.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveVideoTools } from '../../electron/engine/video/binaries.js';

export const tools = resolveVideoTools();
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedVideos = path.resolve(repoRoot, '../shared/data/videos');
export const haveSharedVideos = existsSync(path.join(sharedVideos, 'single_face.mp4'));
export const SKIP_SHARED = 'needs the shared face videos in ../shared/data/videos (absent on this machine)';

export const sharedVideo = (name: string): string => path.join(sharedVideos, name);

let dir: string | undefined;
export function tmpDir(): string {
  dir ??= mkdtempSync(path.join(os.tmpdir(), 'affect-studio-test-'));
  return dir;
}

export function freshDir(prefix = 'case'): string {
  const d = mkdtempSync(path.join(tmpDir(), `${prefix}-`));
  mkdirSync(d, { recursive: true });
  return d;
}

/** Runs the bundled ffmpeg with `args` writing `name` in the temp folder; returns its path. */
export function ffmpegFixture(name: string, args: string[]): string {
  const out = path.join(tmpDir(), name);
  if (!existsSync(out)) execFileSync(tools.ffmpeg, ['-v', 'error', '-y', ...args, out]);
  return out;
}

/** A constant-rate synthetic video (ffmpeg's test pattern): no face in it. */
export function testPatternVideo(frames = 30, fps = 25, size = '160x120'): string {
  return ffmpegFixture(`testsrc-${frames}-${fps}-${size}.mp4`, ['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${fps}`, '-frames:v', String(frames), '-pix_fmt', 'yuv420p', '-c:v', 'libx264']);
}
