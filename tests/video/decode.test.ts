import { describe, expect, it } from 'vitest';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { probeVideo } from '../../electron/engine/video/probe.js';
import { VideoDecoder, type Frame } from '../../electron/engine/video/decode.js';
import { UserError } from '../../common/errors.js';
import { ffmpegFixture, freshDir, haveSharedVideos, SKIP_SHARED, sharedVideo, testPatternVideo, tmpDir, tools } from '../helpers/fixtures.js';

async function decodeAll(file: string, options: Partial<ConstructorParameters<typeof VideoDecoder>[1]> = {}) {
  const info = await probeVideo(file, tools.ffprobe);
  const decoder = new VideoDecoder(info, { ffmpeg: tools.ffmpeg, ffprobe: tools.ffprobe, ...options });
  const frames: Omit<Frame, 'rgb'>[] = [];
  let first: Frame | undefined;
  for await (const f of decoder) {
    first ??= f;
    frames.push({ frame: f.frame, time: f.time, width: f.width, height: f.height });
    expect(f.rgb.length).toBe(f.width * f.height * 3);
  }
  return { info, frames, stats: decoder.stats, first: first as Frame };
}

describe('probe and decode', () => {
  it('decodes every frame of a constant-rate video with times k/fps', async () => {
    const { info, frames, stats } = await decodeAll(testPatternVideo(30, 25));
    expect(info).toMatchObject({ width: 160, height: 120, codec: 'h264', rotation: 0, frameCount: 30, variableFrameRate: false });
    expect(info.fps).toBeCloseTo(25);
    expect(frames.map((f) => f.frame)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    frames.forEach((f, i) => expect(f.time).toBeCloseTo(i / 25, 6));
    expect(stats).toMatchObject({ decodedFrames: 30, emittedFrames: 30, warnings: [] });
  });

  it('gives variable-frame-rate frames their real presentation times', async () => {
    // 10 frames 40 ms apart, then 10 frames 100 ms apart.
    const vfr = ffmpegFixture('vfr.mp4', ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-frames:v', '21',
      '-vf', 'settb=1/1000,setpts=\'if(lt(N,10),N*0.04,0.4+(N-10)*0.1)/TB\'', '-vsync', 'passthrough', '-enc_time_base', '1:1000',
      '-c:v', 'libx264', '-bf', '0', '-pix_fmt', 'yuv420p']);
    const { info, frames } = await decodeAll(vfr);
    expect(info.variableFrameRate).toBe(true);
    // the muxer's edit list may hide the last frame (its duration is unknown)
    expect(frames.length).toBeGreaterThanOrEqual(20);
    const expected = (n: number) => (n < 10 ? n * 0.04 : 0.4 + (n - 10) * 0.1);
    frames.forEach((f, i) => {
      expect(f.frame).toBe(i + 1);
      expect(f.time).toBeCloseTo(expected(i), 6);
    });
  });

  it('applies stride and time range while keeping true frame numbers', async () => {
    const { frames, stats } = await decodeAll(testPatternVideo(30, 25), { stride: 3, start: 0.2, end: 0.8 });
    // frames k with (k-1) % 3 == 0 and 0.2 <= (k-1)/25 < 0.8 → k-1 in {6, 9, ..., 18}
    expect(frames.map((f) => f.frame)).toEqual([7, 10, 13, 16, 19]);
    frames.forEach((f) => expect(f.time).toBeCloseTo((f.frame - 1) / 25, 6));
    expect(stats.emittedFrames).toBe(5);
  });

  it('downscales to --max-side', async () => {
    const { frames } = await decodeAll(testPatternVideo(5, 25, '320x240'), { maxSide: 160 });
    expect(frames[0]).toMatchObject({ width: 160, height: 120 });
  });

  it('applies rotation metadata so the picture comes out upright', async () => {
    // red top-left quadrant on black, then given a display matrix of a quarter turn counter-clockwise
    const plain = ffmpegFixture('quadrant.mp4', ['-f', 'lavfi', '-i', 'color=black:size=64x32:rate=10', '-frames:v', '3',
      '-vf', 'drawbox=x=0:y=0:w=32:h=16:color=red:t=fill', '-c:v', 'libx264', '-pix_fmt', 'yuv444p', '-qp', '0']);
    const rotated = ffmpegFixture('quadrant-rot90.mp4', ['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90']);
    const { info, first } = await decodeAll(rotated);
    expect(info).toMatchObject({ rotation: 90, width: 32, height: 64 });
    expect(first).toMatchObject({ width: 32, height: 64 });
    const red = (x: number, y: number) => first.rgb[(y * 32 + x) * 3] > 150 && first.rgb[(y * 32 + x) * 3 + 1] < 100;
    expect(red(8, 56)).toBe(true); // top-left goes to bottom-left in a counter-clockwise quarter turn
    expect(red(8, 8)).toBe(false);
    expect(red(24, 56)).toBe(false);
  });

  it('does not call a file truncated when its edit list hides frames', async ({ skip }) => {
    skip(!haveSharedVideos, SKIP_SHARED);
    const { info, stats } = await decodeAll(sharedVideo('no_face.mp4'));
    expect(info.frameCount).toBe(98); // 3 of them discarded by the edit list
    expect(stats.decodedFrames).toBe(95);
    expect(stats.warnings).toEqual([]);
  });

  it('stops early and cleanly when the consumer stops', async () => {
    const info = await probeVideo(testPatternVideo(30, 25), tools.ffprobe);
    const decoder = new VideoDecoder(info, { ffmpeg: tools.ffmpeg });
    let n = 0;
    for await (const _ of decoder) if (++n === 3) break;
    expect(n).toBe(3);
  });

  it('decodes the shared HEVC variable-rate clip', async ({ skip }) => {
    skip(!haveSharedVideos, SKIP_SHARED);
    const { info, frames, stats } = await decodeAll(sharedVideo('noface_face.mov'));
    expect(info.codec).toBe('hevc');
    expect(info.variableFrameRate).toBe(true);
    expect(frames).toHaveLength(169);
    expect(stats.warnings).toEqual([]);
    for (let i = 1; i < frames.length; i++) expect(frames[i].time).toBeGreaterThan(frames[i - 1].time);
    expect(frames[1].time).toBeCloseTo(168 / 12288, 6); // the second frame comes 13.7 ms after the first
  });
});

describe('bad video input gets one clear message naming the file', () => {
  const expectUserError = async (file: string, pattern: RegExp) => {
    const err = await decodeAll(file).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).file).toBe(file);
    expect((err as UserError).describe()).toMatch(pattern);
    expect((err as UserError).hint).toBeTruthy();
  };

  it('zero-byte file', async () => {
    const f = path.join(freshDir(), 'empty.mp4');
    writeFileSync(f, '');
    await expectUserError(f, /empty \(0 bytes\)/);
  });

  it('a text file named .mp4', async () => {
    const f = path.join(freshDir(), 'notes.mp4');
    writeFileSync(f, 'these are my notes, not a video\n'.repeat(20));
    await expectUserError(f, /not a video ffmpeg can read/);
  });

  it('a truncated mp4 (index at the end, cut off)', async () => {
    const src = testPatternVideo(30, 25);
    const f = path.join(freshDir(), 'truncated.mp4');
    const { readFileSync } = await import('node:fs');
    writeFileSync(f, readFileSync(src).subarray(0, 4000));
    await expectUserError(f, /truncated or corrupt/);
  });

  it('a truncated mp4 (index first): decodes what is there and warns', async () => {
    const src = ffmpegFixture('faststart.mp4', ['-i', testPatternVideo(30, 25), '-c', 'copy', '-movflags', '+faststart']);
    const { readFileSync, statSync } = await import('node:fs');
    const f = path.join(freshDir(), 'cut.mp4');
    writeFileSync(f, readFileSync(src).subarray(0, Math.floor(statSync(src).size * 0.6)));
    const { frames, stats } = await decodeAll(f);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.length).toBeLessThan(30);
    expect(stats.warnings.join(' ')).toMatch(/truncated/);
  });

  it('an audio-only file', async () => {
    const f = ffmpegFixture('tone.m4a', ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac']);
    await expectUserError(f, /no video stream \(audio only\)/);
  });

  it('a path with spaces and non-ASCII characters works', async () => {
    const f = path.join(freshDir(), 'Überraschung – clip 1 (ß).mp4');
    copyFileSync(testPatternVideo(10, 25), f);
    const { frames } = await decodeAll(f);
    expect(frames).toHaveLength(10);
  });

  it('a missing file', async () => {
    await expectUserError(path.join(tmpDir(), 'nope.mp4'), /cannot be read/);
  });
});

describe('pixel buffers handed back (recycle)', () => {
  it('are decoded into again, and the frames are the same bytes as without recycling', async () => {
    const video = testPatternVideo(40, 25, '64x48');
    const info = await probeVideo(video, tools.ffprobe);
    const fresh: Buffer[] = [];
    for await (const f of new VideoDecoder(info, { ffmpeg: tools.ffmpeg })) fresh.push(Buffer.from(f.rgb));

    const decoder = new VideoDecoder(info, { ffmpeg: tools.ffmpeg, bufferFrames: 2 });
    const seen = new Set<ArrayBufferLike>();
    let reused = 0;
    let k = 0;
    for await (const f of decoder) {
      expect(f.rgb.equals(fresh[k]), `frame ${f.frame}`).toBe(true);
      if (seen.has(f.rgb.buffer)) reused++;
      seen.add(f.rgb.buffer);
      decoder.recycle(f.rgb);
      // a view into a larger buffer, or a buffer of another size, is not taken
      decoder.recycle(Buffer.alloc(10));
      decoder.recycle(new Uint8Array(new ArrayBuffer(f.rgb.length + 3), 0, f.rgb.length));
      k++;
    }
    expect(k).toBe(40);
    expect(reused).toBeGreaterThan(20);
    // the decoder only ever held a handful of buffers
    expect(seen.size).toBeLessThan(20);
  }, 60_000);
});
