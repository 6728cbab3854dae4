/**
 * Importing other tools' prediction files as runs: Py-Feat's CSV (a real one, unchanged, and the
 * layout we write), a clear error for anything else, and how much of the video each run covers.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiService } from '../../electron/api/service.js';
import { AUS, EXPRESSIONS } from '../../common/labels.js';
import { UserError } from '../../common/errors.js';
import { pyFeatCsv } from '../../electron/engine/export/prediction-csv.js';
import type { PredictionRow } from '../../electron/engine/predict/predictor.js';
import { freshDir, repoRoot, testPatternVideo, tools, testRoots } from '../helpers/fixtures.js';

const peer = (name: string) => path.resolve(repoRoot, '../shared/data/peer-outputs', name);
const service = () => new ApiService({ roots: testRoots(), projectDir: freshDir('proj'), mode: 'web', mediaUrl: (id) => `/media/${id}`, tools, engine: { provider: 'cpu' } });

describe('importing runs', () => {
  it("reads the real Py-Feat CSV unchanged: AU probabilities, emotions → our expressions (Other 0), head pose", async ({ skip }) => {
    skip(!existsSync(peer('Feat_Test.csv')), 'needs ../shared/data/peer-outputs/Feat_Test.csv (absent on this machine)');
    const s = service();
    const v = await s.call<'videos.open'>('videos.open', { path: testPatternVideo(10, 25) });
    const run = await s.call<'runs.import'>('runs.import', { videoId: v.videoId, path: peer('Feat_Test.csv') });
    expect(run.label).toBe('Py-Feat CSV: Feat_Test.csv');
    // one row, Py-Feat's frame 0 = our frame 1, at the video's first frame time
    expect(run.coverage).toEqual({ frames: 1, seconds: expect.closeTo(0.04, 6), videoFrames: 10, videoSeconds: expect.closeTo(0.4, 6) });
    const data = await s.call<'runs.get'>('runs.get', { runId: run.runId });
    expect(data.faces).toHaveLength(1);
    const face = data.faces[0];
    expect(face.frames).toEqual([1]);
    expect(face.times).toEqual([0]);
    const expr = face.expression as number[];
    expect(expr[EXPRESSIONS.indexOf('Happiness')]).toBeCloseTo(0.98699605, 4);
    expect(expr[EXPRESSIONS.indexOf('Surprise')]).toBeCloseTo(0.012009855, 4);
    expect(expr[EXPRESSIONS.indexOf('Other')]).toBe(0);
    const au = face.au as number[];
    expect(au[AUS.indexOf('AU12')]).toBeCloseTo(0.9643792749395256, 4);
    expect(au[AUS.indexOf('AU1')]).toBeCloseTo(0.5631302892259024, 4);
    expect(au[AUS.indexOf('AU26')]).toBeCloseTo(0.3891367286875646, 4);
    // Pitch 0.97°, Yaw 4.87°, Roll −1.90° → pitch, yaw, roll
    expect((face.pose as number[]).map((x) => Number(x.toFixed(2)))).toEqual([0.97, 4.87, -1.9]);
    expect(face.valence).toEqual([null]);
  });

  it('reads back the Py-Feat layout we write: faces, frames from 0, timestamps, no-face rows', async () => {
    const s = service();
    const v = await s.call<'videos.open'>('videos.open', { path: testPatternVideo(10, 25) });
    const probs = (n: number, hot: number) => Float32Array.from({ length: n }, (_, i) => (i === hot ? 0.6 : 0.4 / (n - 1)));
    const rows: PredictionRow[] = [
      { frame: 1, timestamp: 0, faceId: 0, faceScore: 0.9, box: { x: 1, y: 2, w: 30, h: 40 }, expression: probs(8, 4), au: probs(12, 6) },
      { frame: 1, timestamp: 0, faceId: 3, faceScore: 0.8, box: { x: 50, y: 2, w: 30, h: 40 }, expression: probs(8, 6), au: probs(12, 0) },
      { frame: 2, timestamp: 0.04 },
      { frame: 3, timestamp: 0.08, faceId: 3, faceScore: 0.7, box: { x: 52, y: 2, w: 30, h: 40 }, expression: probs(8, 1), au: probs(12, 1) },
    ];
    // Py-Feat has no "Other": what we write drops it, so write rows whose Other is 0
    for (const r of rows) if (r.expression) r.expression[7] = 0;
    const file = path.join(freshDir('pyfeat'), 'clip.pyfeat.csv');
    writeFileSync(file, pyFeatCsv(rows, '/data/clip.mp4'));
    const run = await s.call<'runs.import'>('runs.import', { videoId: v.videoId, path: file });
    expect(run.coverage).toMatchObject({ frames: 2, videoFrames: 10 });
    expect(run.coverage?.seconds).toBeCloseTo(0.08, 6);
    const data = await s.call<'runs.get'>('runs.get', { runId: run.runId });
    const byId = new Map(data.faces.map((f) => [f.faceId, f]));
    expect([...byId.keys()].sort()).toEqual([0, 3]);
    expect(byId.get(3)?.frames).toEqual([1, 3]);
    expect(byId.get(3)?.times).toEqual([0, 0.08]);
    expect(byId.get(0)?.expression?.[4]).toBeCloseTo(0.6, 4);
    expect(byId.get(3)?.au?.[12 + 1]).toBeCloseTo(0.6, 4);
  });

  it('an unknown CSV is a clear error naming the columns it expected and those it found', async () => {
    const s = service();
    const v = await s.call<'videos.open'>('videos.open', { path: testPatternVideo(10, 25) });
    const file = path.join(freshDir('bad'), 'scores.csv');
    writeFileSync(file, 'time,happy,sad\n0,0.1,0.2\n');
    const err = await s.call('runs.import', { videoId: v.videoId, path: file }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    const line = (err as UserError).describe();
    expect(line).toMatch(/scores\.csv: is not a prediction CSV/);
    expect(line).toMatch(/frame, timestamp, face_id/);
    expect(line).toMatch(/AU01_r/);
    expect(line).toMatch(/FaceRectX, FaceScore/);
    expect(line).toMatch(/found time, happy, sad/);
    expect(line.split('\n')).toHaveLength(1);
  });

  it('an OpenFace file of 100 frames covers 4 s of a 20 s video, and runs.list says so', async ({ skip }) => {
    skip(!existsSync(peer('OpenFace_Test.csv')), 'needs ../shared/data/peer-outputs/OpenFace_Test.csv (absent on this machine)');
    const s = service();
    const v = await s.call<'videos.open'>('videos.open', { path: testPatternVideo(500, 25) });
    const run = await s.call<'runs.import'>('runs.import', { videoId: v.videoId, path: peer('OpenFace_Test.csv') });
    expect(run.coverage).toEqual({ frames: 100, seconds: expect.closeTo(4, 6), videoFrames: 500, videoSeconds: expect.closeTo(20, 6) });
    const listed = await s.call<'runs.list'>('runs.list', { videoId: v.videoId });
    expect(listed).toHaveLength(1);
    expect(listed[0].coverage).toEqual(run.coverage);
  });
});
