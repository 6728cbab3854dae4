/**
 * Playback copies of videos a browser cannot decode: H.264, every frame at the original's time
 * (variable frame rate kept), a keyframe at least every 0.5 s, made once and reused, and nothing
 * left behind when cancelled.
 */
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { KEYFRAME_SECONDS, PlaybackCopies } from '../../electron/engine/video/playback-proxy.js';
import { frameTimes, probeVideo } from '../../electron/engine/video/probe.js';
import { freshDir, haveSharedVideos, SKIP_SHARED, sharedVideo, tools } from '../helpers/fixtures.js';

const run = promisify(execFile);

/** Times of the keyframes, in presentation order (packet flags read by ffprobe). */
async function keyframeTimes(file: string): Promise<number[]> {
  const { stdout } = await run(tools.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file]);
  return stdout.trim().split('\n').map((l) => l.split(',')).filter(([, flags]) => flags?.includes('K')).map(([t]) => Number(t)).sort((a, b) => a - b);
}

/** Frames a decoder actually outputs (an edit list can hide some that the container lists). */
async function decodedFrames(file: string): Promise<number> {
  const { stdout } = await run(tools.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file]);
  return Number(stdout.trim());
}

describe('playback copies', () => {
  for (const name of ['face_noface.mov', 'noface_face.mov'] as const) {
    it(`a copy of ${name} (HEVC, variable frame rate) is H.264 with the same frames at the same times`, async ({ skip }) => {
      skip(!haveSharedVideos, SKIP_SHARED);
      const original = sharedVideo(name);
      const before = await probeVideo(original, tools.ffprobe);
      expect(before.codec).toBe('hevc');
      expect(before.variableFrameRate).toBe(true);
      const originalTimes = await frameTimes(original, tools.ffprobe);

      const copies = new PlaybackCopies(tools, freshDir('proxies'));
      const progress: number[] = [];
      const copy = await copies.make(original, { frames: originalTimes.length, onProgress: (done) => progress.push(done) });
      expect(progress.length).toBeGreaterThan(0);
      expect(progress[progress.length - 1]).toBe(originalTimes.length);

      const after = await probeVideo(copy, tools.ffprobe);
      expect(after.codec).toBe('h264');
      expect([after.width, after.height]).toEqual([before.width, before.height]);
      const { stdout: pixFmt } = await run(tools.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=pix_fmt', '-of', 'csv=p=0', copy]);
      expect(pixFmt.trim()).toBe('yuv420p');

      const copyTimes = await frameTimes(copy, tools.ffprobe);
      expect(copyTimes).toHaveLength(originalTimes.length);
      expect(await decodedFrames(copy)).toBe(await decodedFrames(original));
      const worst = Math.max(...copyTimes.map((t, k) => Math.abs(t - originalTimes[k])));
      expect(worst).toBeLessThan(0.001);

      const keys = await keyframeTimes(copy);
      expect(keys[0]).toBe(0);
      const gaps = keys.slice(1).map((t, i) => t - keys[i]);
      expect(Math.max(...gaps, keys.length ? originalTimes[originalTimes.length - 1] - keys[keys.length - 1] : Infinity)).toBeLessThanOrEqual(KEYFRAME_SECONDS);
    });
  }

  it('is made once and found again without re-encoding; a changed source has no copy', async ({ skip }) => {
    skip(!haveSharedVideos, SKIP_SHARED);
    const original = sharedVideo('face_noface.mov');
    const copies = new PlaybackCopies(tools, freshDir('proxies'));
    expect(copies.find(original)).toBeUndefined();
    const first = await copies.make(original, { frames: 169 });
    const made = statSync(first).mtimeMs;
    expect(copies.find(original)).toBe(first);
    let progressed = false;
    const again = await copies.make(original, { frames: 169, onProgress: () => (progressed = true) });
    expect(again).toBe(first);
    expect(progressed).toBe(false); // no ffmpeg run the second time
    expect(statSync(again).mtimeMs).toBe(made);
    expect(readdirSync(copies.dir).filter((f) => f.endsWith('.mp4'))).toHaveLength(1);
    expect(new PlaybackCopies(tools, freshDir('proxies')).find(original)).toBeUndefined();
  });

  it('cancelling stops ffmpeg and leaves no partial file', async ({ skip }) => {
    skip(!haveSharedVideos, SKIP_SHARED);
    const copies = new PlaybackCopies(tools, freshDir('proxies'));
    const controller = new AbortController();
    const making = copies.make(sharedVideo('noface_face.mov'), { frames: 169, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(making).rejects.toMatchObject({ name: 'AbortError' });
    expect(readdirSync(copies.dir).filter((f) => f !== 'sources')).toEqual([]);
    expect(copies.find(sharedVideo('noface_face.mov'))).toBeUndefined();
  });
});
