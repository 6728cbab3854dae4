/**
 * Small real media files for tests: the two sample clips shipped in samples/ (real faces, always
 * there), media made on the spot with the bundled ffmpeg, and the team's other shared clips
 * (HEVC, no face) when present in ../shared.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveVideoTools } from '../../electron/engine/video/binaries.js';
import { PathRoots } from '../../electron/api/path-roots.js';

export const tools = resolveVideoTools();
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The folders tests' API services may use: the temp folder (fixtures, outputs), the repository (samples), the team's shared data. */
const testRootDirs = (): string[] => [os.tmpdir(), repoRoot, ...[path.resolve(repoRoot, '../shared')].filter(existsSync)];
export const testRoots = (): PathRoots => new PathRoots(testRootDirs(), 'tests: put the file under the temp folder');
/** The same as `serve` arguments. */
export const testRootArgs = (): string[] => testRootDirs().flatMap((d) => ['--root', d]);
/** The real face clips shipped with the project (samples/README.md). */
export type SampleName = 'single_face.mp4' | 'WolfgangLanger_Pexels.mp4';
export const sampleVideo = (name: SampleName): string => path.join(repoRoot, 'samples', name);

/** The team's other clips (HEVC variable-rate .mov, a no-face video), outside the repository. */
export const sharedVideos = path.resolve(repoRoot, '../shared/data/videos');
export const haveSharedVideos = existsSync(path.join(sharedVideos, 'noface_face.mov'));
export const SKIP_SHARED = 'needs the shared clips in ../shared/data/videos (HEVC .mov, no-face video), absent on this machine';
export const sharedVideo = (name: 'no_face.mp4' | 'face_noface.mov' | 'noface_face.mov'): string => path.join(sharedVideos, name);

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
  return ffmpegFixture('two-faces.mp4', ['-i', sampleVideo('single_face.mp4'), '-i', sampleVideo('WolfgangLanger_Pexels.mp4'),
    '-filter_complex', '[0:v]trim=end_frame=60,setpts=PTS-STARTPTS[a];[1:v]trim=end_frame=60,setpts=PTS-STARTPTS,fps=30[b];[a][b]hstack=inputs=2',
    '-frames:v', '60', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-an']);
}

/** A face, then 1 s without it (ffmpeg's test pattern), then the same face again (tests re-identification). */
export function faceLeavesAndReturns(): string {
  return ffmpegFixture('leave-return.mp4', ['-i', sampleVideo('single_face.mp4'), '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30',
    '-filter_complex', '[0:v]split[f1][f2];[f1]trim=end_frame=30,setpts=PTS-STARTPTS[a];[1:v]trim=end_frame=30,setpts=PTS-STARTPTS[b];[f2]trim=start_frame=40,setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3:v=1:a=0',
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-an']);
}
