/**
 * The batch panel's queue with real videos: a finished video says what a user should know (a
 * truncated file, no face, a face in few frames), also when its features come from the cache;
 * pause lets the running video finish and stops before the next; cancel interrupts.
 */
import { copyFileSync, existsSync, readFileSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiService } from '../../electron/api/service.js';
import type { BatchState } from '../../electron/api/contract.js';
import { FACE_FRAMES_WARNING_BELOW } from '../../electron/engine/predict/video-warnings.js';
import { ffmpegFixture, freshDir, sampleVideo, testPatternVideo, tmpDir, tools, testRoots } from '../helpers/fixtures.js';

/** The acted clip cut to its first 45 % of bytes, as a copy interrupted mid-way leaves it (its index is at the front). */
function truncatedClip(): string {
  const file = path.join(tmpDir(), 'truncated-acted.mp4');
  if (!existsSync(file)) {
    copyFileSync(sampleVideo('WolfgangLanger_Pexels.mp4'), file);
    truncateSync(file, Math.floor(statSync(file).size * 0.45));
  }
  return file;
}

/** 10 frames of a face, then 40 frames of ffmpeg's test pattern: a face in 20 % of the frames. */
const mostlyNoFace = () => ffmpegFixture('face-20-percent.mp4', ['-i', sampleVideo('single_face.mp4'), '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30',
  '-filter_complex', '[0:v]trim=end_frame=10,setpts=PTS-STARTPTS[a];[1:v]trim=end_frame=40,setpts=PTS-STARTPTS[b];[a][b]concat=n=2:v=1:a=0',
  '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-an']);

function service(cacheDir: string | false): { s: ApiService; states: BatchState[]; idle: () => Promise<BatchState> } {
  const s = new ApiService({ roots: testRoots(), projectDir: freshDir('proj'), mode: 'web', mediaUrl: (id) => `/media/${id}`, tools, engine: { provider: 'cpu', cacheDir } });
  const states: BatchState[] = [];
  s.on((name, payload) => {
    if (name === 'batch.changed') states.push(payload as BatchState);
  });
  const idle = () => new Promise<BatchState>((resolve) => {
    const check = () => (s.batch.snapshot().running ? setTimeout(check, 100) : resolve(s.batch.snapshot()));
    check();
  });
  return { s, states, idle };
}

const itemOf = (state: BatchState, file: string) => state.items.find((i) => i.file === file);

describe('batch statuses', () => {
  it('finished videos carry warnings: truncated file, no face, a face in few frames; a cache hit keeps the decoder\'s', async () => {
    const cache = freshDir('fcache');
    const { s, idle } = service(cache);
    const files = [truncatedClip(), testPatternVideo(30, 25, '320x240'), mostlyNoFace(), sampleVideo('single_face.mp4')];
    await s.call('batch.add', { paths: files });
    const out = freshDir('batch-out');
    await s.call('batch.start', { outDir: out, format: 'native', bundles: [] });
    const end = await idle();
    const [truncated, noFace, fewFaces, clean] = files.map((f) => itemOf(end, f));
    expect([truncated?.status, noFace?.status, fewFaces?.status, clean?.status]).toEqual(['done', 'done', 'done', 'done']);
    expect(truncated?.warnings?.join(' ')).toMatch(/truncated/);
    expect(truncated?.done).toBeLessThan(472 * 0.6);
    expect(noFace?.warnings).toEqual(['no face found in any of the 30 frames: there are no predictions for this video']);
    const share = /a face in only (\d+) % of the frames \((\d+) of 50\)/.exec(fewFaces?.warnings?.join(' ') ?? '');
    expect(share).not.toBeNull();
    expect(Number(share?.[1]) / 100).toBeLessThan(FACE_FRAMES_WARNING_BELOW);
    expect(clean?.warnings).toBeUndefined();
    // the output folder's run.json records them too (what `predict` prints)
    const record = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as { videos: Record<string, { warnings?: string[] }> };
    expect(record.videos['truncated-acted'].warnings?.join(' ')).toMatch(/truncated/);

    // the same truncated file again, its features now from the cache: still flagged
    const again = service(cache);
    await again.s.call('batch.add', { paths: [truncatedClip()] });
    await again.s.call('batch.start', { outDir: freshDir('batch-out'), format: 'native', bundles: [] });
    const cached = itemOf(await again.idle(), truncatedClip());
    expect(cached?.status).toBe('done');
    expect(cached?.warnings).toEqual(truncated?.warnings);
  });

  it('pause lets the running video finish, stops before the next, and start resumes with it; cancel interrupts', async () => {
    const { s, states, idle } = service(false);
    const first = sampleVideo('WolfgangLanger_Pexels.mp4'), second = sampleVideo('single_face.mp4');
    await s.call('batch.add', { paths: [first, second] });
    const out = freshDir('batch-out');
    await s.call('batch.start', { outDir: out, format: 'native', bundles: [] });
    // pause while the first video is part-way through
    await new Promise<void>((resolve) => {
      const check = () => ((itemOf(s.batch.snapshot(), first)?.done ?? 0) > 20 ? resolve() : setTimeout(check, 50));
      check();
    });
    const asked = await s.call<'batch.pause'>('batch.pause', {});
    expect(asked).toMatchObject({ running: true, pausing: true });
    const paused = await idle();
    expect(paused.pausing).toBeUndefined();
    expect(itemOf(paused, first)).toMatchObject({ status: 'done', done: 472, output: 'WolfgangLanger_Pexels.csv' });
    expect(itemOf(paused, second)?.status).toBe('queued');
    expect(existsSync(path.join(out, 'WolfgangLanger_Pexels.csv'))).toBe(true);
    // its progress never went back to 0 after the pause: the work was kept
    const afterPause = states.slice(states.findIndex((st) => st.pausing));
    const progress = afterPause.map((st) => itemOf(st, first)?.done ?? 0);
    expect(progress.every((d, i) => i === 0 || d >= progress[i - 1])).toBe(true);

    await s.call('batch.start', { outDir: out, format: 'native', bundles: [] });
    const resumed = await idle();
    expect(itemOf(resumed, second)?.status).toBe('done');
    expect(itemOf(resumed, first)?.status).toBe('done');

    // cancel does interrupt: the running video is marked cancelled at once
    const third = ffmpegFixture('acted-copy.mp4', ['-i', first, '-c', 'copy']);
    await s.call('batch.add', { paths: [third] });
    await s.call('batch.start', { outDir: freshDir('batch-out'), format: 'native', bundles: [] });
    await new Promise<void>((resolve) => {
      const check = () => ((itemOf(s.batch.snapshot(), third)?.done ?? 0) > 5 ? resolve() : setTimeout(check, 50));
      check();
    });
    await s.call('batch.cancel', {});
    const cancelled = await idle();
    expect(itemOf(cancelled, third)?.status).toBe('cancelled');
    expect(itemOf(cancelled, third)?.done).toBeLessThan(472);
  });
});
