/**
 * The extractor pool hands batches to its worker, and the tracking thread runs the ones the worker
 * has not taken yet when it would otherwise wait (`help`). Whichever thread runs a batch, the
 * vectors must be the bytes the extractors give in-process.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FACE_SETTINGS } from '../../electron/engine/features/face-settings.js';
import { BATCH_FRAMES, ExtractorPool, IN_FLIGHT_PER_WORKER, type FrameVectors } from '../../electron/engine/features/extractor-pool.js';
import { decodeGeometry, encodeGeometry } from '../../electron/engine/features/cache.js';
import { runFrames, type FaceGeometry } from '../../electron/engine/features/extractor.js';
import { createExtractors } from '../../electron/engine/features/registry.js';
import { FaceDetector } from '../../electron/engine/face/detector.js';
import { FaceMesh } from '../../electron/engine/face/landmarks.js';
import { FaceTracker } from '../../electron/engine/face/tracker.js';
import { SessionFactory } from '../../electron/engine/onnx/sessions.js';
import { VideoDecoder, type Frame } from '../../electron/engine/video/decode.js';
import { probeVideo } from '../../electron/engine/video/probe.js';
import { twoFaceVideo, tools } from '../helpers/fixtures.js';

const SPECS = ['expression', 'gaze'];

/** The first `n` frames of the two-face clip with their tracked faces (geometry as the cache stores it). */
async function trackedFrames(sessions: SessionFactory, n: number): Promise<{ frame: Frame; faces: FaceGeometry[] }[]> {
  const file = twoFaceVideo();
  const decoder = new VideoDecoder(await probeVideo(file, tools.ffprobe), { ffmpeg: tools.ffmpeg, ffprobe: tools.ffprobe });
  const f = DEFAULT_FACE_SETTINGS;
  const tracker = new FaceTracker(await FaceDetector.create(sessions, { minScore: f.minDetectionScore }), await FaceMesh.create(sessions), { detectEvery: f.detectEvery, minFaceScore: f.minFaceScore, maxFaces: 0 });
  const out: { frame: Frame; faces: FaceGeometry[] }[] = [];
  for await (const frame of decoder) {
    const faces = (await tracker.process(frame)).map((face) => decodeGeometry(encodeGeometry(face)));
    out.push({ frame, faces });
    if (out.length === n) break;
  }
  return out;
}

describe('the extractor pool', () => {
  it('gives the in-process bytes whether its worker or the calling thread (help) ran a batch', async () => {
    const sessions = new SessionFactory({ provider: 'cpu', threads: 1 });
    // one batch more than the worker holds: that one waits for help
    const frames = await trackedFrames(sessions, BATCH_FRAMES * (IN_FLIGHT_PER_WORKER + 1));
    expect(frames.every((f) => f.faces.length === 2)).toBe(true);
    const local = await createExtractors(SPECS, sessions);
    const expected: Float32Array[][][] = [];
    for (const { frame, faces } of frames) expected.push(await Promise.all(local.map(async (e) => (await runFrames(e, [{ frame, faces }]))[0])));

    const pool = await ExtractorPool.create({ specs: SPECS, workers: 1, provider: 'cpu', threads: 1 });
    try {
      expect(pool.extractors.map((e) => e.id)).toEqual(['expression', 'gaze']);
      expect(await pool.help()).toBe(false); // no extractors here yet
      pool.helpWith(local);
      const pending: Promise<FrameVectors>[] = [];
      const returned: Uint8Array[] = [];
      pool.onPixelsDone = (rgb) => returned.push(rgb);
      // the pixels move to the worker: give it copies, the reference above keeps the originals
      for (const { frame, faces } of frames) pending.push(pool.submit({ ...frame, rgb: Buffer.from(frame.rgb) }, faces, [0, 1]));
      expect(pool.unsent).toBe(0);
      expect(await pool.help()).toBe(true); // the batch the worker had no room for
      expect(await pool.help()).toBe(false);
      const got = await Promise.all(pending);
      // every frame's pixels come back once its batch is done, whichever thread ran it (for the decoder to reuse)
      expect(returned).toHaveLength(frames.length);
      const key = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
      expect(new Set(returned.map(key))).toEqual(new Set(frames.map((f) => key(f.frame.rgb))));
      const bytes = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      got.forEach((vectors, k) => {
        vectors.forEach((perFace, e) => perFace.forEach((v, i) => expect(bytes(v).equals(bytes(expected[k][e][i])), `frame ${k} extractor ${SPECS[e]} face ${i}`).toBe(true)));
      });
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('refuses to help with extractors that are not the workers\'', async () => {
    const sessions = new SessionFactory({ provider: 'cpu', threads: 1 });
    const pool = await ExtractorPool.create({ specs: ['expression'], workers: 1, provider: 'cpu', threads: 1 });
    try {
      expect(() => pool.helpWith([])).toThrow(/differ/);
      const landmarks = await createExtractors(['landmarks'], sessions);
      expect(() => pool.helpWith(landmarks)).toThrow(/differ/);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
