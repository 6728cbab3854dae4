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

/** Two shared face clips side by side: a real two-face video (1280×360). */
export function twoFaceVideo(): string {
  return ffmpegFixture('two-faces.mp4', ['-i', sharedVideo('single_face.mp4'), '-i', sharedVideo('WolfgangLanger_Pexels.mp4'),
    '-filter_complex', '[0:v]trim=end_frame=60,setpts=PTS-STARTPTS[a];[1:v]trim=end_frame=60,setpts=PTS-STARTPTS,fps=30[b];[a][b]hstack=inputs=2',
    '-frames:v', '60', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-an']);
}

/** A face, then 1 s without it, then the same face again (tests re-identification). */
export function faceLeavesAndReturns(): string {
  return ffmpegFixture('leave-return.mp4', ['-i', sharedVideo('single_face.mp4'), '-i', sharedVideo('no_face.mp4'),
    '-filter_complex', '[0:v]split[f1][f2];[f1]trim=end_frame=30,setpts=PTS-STARTPTS[a];[1:v]scale=640:360,fps=30,trim=end_frame=30,setpts=PTS-STARTPTS[b];[f2]trim=start_frame=40,setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3:v=1:a=0',
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-an']);
}
