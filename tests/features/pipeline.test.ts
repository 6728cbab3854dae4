import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FACE_SETTINGS, resolveFaceSettings } from '../../electron/engine/features/face-settings.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { FeaturePipeline } from '../../electron/engine/features/pipeline.js';
import { FACES_COLUMNS } from '../../electron/engine/features/faces-table.js';
import { readNpyHeader, readNpyRows } from '../../models/data/npy.js';
import { faceLeavesAndReturns, freshDir, haveSharedVideos, SKIP_SHARED, sampleVideo, sharedVideo, tools, twoFaceVideo } from '../helpers/fixtures.js';

type Row = Record<(typeof FACES_COLUMNS)[number], string>;
const readRows = (file: string): Row[] => parse(readFileSync(file), { columns: true }) as Row[];
const readNpy = (file: string) => {
  const h = readNpyHeader(file);
  return { ...h, data: readNpyRows(file, h, 0, h.rows) };
};

describe('features pipeline on real face videos', () => {
  let pipeline: FeaturePipeline;
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = freshDir('cache');
    pipeline = await FeaturePipeline.create({ tools, provider: 'cpu', face: DEFAULT_FACE_SETTINGS, cacheDir });
  });

  it('accounts for every frame, tracks one face with one id, and writes aligned features', async () => {
    const out = freshDir('out');
    const r = await pipeline.run(sampleVideo('WolfgangLanger_Pexels.mp4'), { outDir: out, stem: 'wolf' });
    expect(r.cache).toBe('none');
    const rows = readRows(r.outputs.facesCsv);
    expect(Object.keys(rows[0])).toEqual([...FACES_COLUMNS]);
    expect(rows.map((x) => Number(x.frame))).toEqual(Array.from({ length: 472 }, (_, i) => i + 1));
    expect(new Set(rows.map((x) => x.face_id))).toEqual(new Set(['0']));
    rows.forEach((x, i) => {
      expect(Number(x.timestamp)).toBeCloseTo(i * (1001 / 24000), 4);
      // the face is in the right half of the 640×360 frame, eyes above the mouth
      expect(Number(x.x) + Number(x.w) / 2).toBeGreaterThan(320);
      expect(Number(x.left_eye_y)).toBeLessThan(Number(x.mouth_left_y));
      expect(Number(x.left_eye_x)).toBeLessThan(Number(x.right_eye_x));
    });
    const npy = readNpy(r.outputs.featuresNpy);
    expect([npy.rows, npy.cols]).toEqual([472, 263 + 1024 + 1404]);
    expect(npy.data.some((v) => Number.isNaN(v))).toBe(false);
    const meta = JSON.parse(readFileSync(r.outputs.meta, 'utf8'));
    expect(meta.extractors.map((e: { id: string; offset: number }) => [e.id, e.offset])).toEqual([['expression', 0], ['faceres', 263], ['landmarks', 1287]]);
    expect(meta.columns).toHaveLength(2691);
    expect(meta.executionProvider).toBe('cpu');
    // The acted clip ends smiling: the expression logits must say "happy" there.
    const happy = meta.columns.indexOf('expression.logit_happy');
    const logitsAt = (row: number) => Array.from({ length: 7 }, (_, k) => npy.data[row * npy.cols + 256 + k]);
    const last = logitsAt(460);
    expect(last.indexOf(Math.max(...last))).toBe(happy - 256);
  });

  it('the second run comes from the cache; a subset of the cached extractors is assembled in the asked order', async () => {
    const out = freshDir('out');
    const first = await pipeline.run(sampleVideo('single_face.mp4'), { outDir: out, stem: 'a' });
    const again = await pipeline.run(sampleVideo('single_face.mp4'), { outDir: out, stem: 'b' });
    expect(again.cache).toBe('full');
    expect(readFileSync(again.outputs.featuresNpy)).toEqual(readFileSync(first.outputs.featuresNpy));
    expect(readFileSync(again.outputs.facesCsv, 'utf8')).toBe(readFileSync(first.outputs.facesCsv, 'utf8'));

    const more = await FeaturePipeline.create({ tools, provider: 'cpu', face: DEFAULT_FACE_SETTINGS, cacheDir, extractors: ['landmarks', 'expression'] });
    const fewer = await more.run(sampleVideo('single_face.mp4'), { outDir: out, stem: 'c' });
    expect(fewer.cache).toBe('full'); // both were cached by the first run
    const a = readNpy(first.outputs.featuresNpy);
    const c = readNpy(fewer.outputs.featuresNpy);
    expect(c.cols).toBe(1404 + 263);
    // columns come in the order asked for: landmarks first now
    for (let r = 0; r < a.rows; r += 17) {
      expect(c.data[r * c.cols]).toBe(a.data[r * a.cols + 1287]);
      expect(c.data[r * c.cols + 1404]).toBe(a.data[r * a.cols]);
    }
  });

  it('a face that appears mid-way (HEVC, variable frame rate): rows before it are empty, features NaN', async ({ skip }) => {
    skip(!haveSharedVideos, SKIP_SHARED);
    const r = await pipeline.run(sharedVideo('noface_face.mov'), { outDir: freshDir('out'), stem: 'nf' });
    const rows = readRows(r.outputs.facesCsv);
    expect(new Set(rows.map((x) => x.frame)).size).toBe(169);
    const firstFace = rows.findIndex((x) => x.face_id !== '');
    expect(firstFace).toBeGreaterThan(60);
    expect(rows.slice(0, firstFace).every((x) => x.face_id === '' && x.x === '')).toBe(true);
    expect(new Set(rows.filter((x) => x.face_id !== '').map((x) => x.face_id))).toEqual(new Set(['0']));
    const npy = readNpy(r.outputs.featuresNpy);
    expect(npy.rows).toBe(rows.length);
    expect(Number.isNaN(npy.data[0])).toBe(true);
    expect(Number.isNaN(npy.data[firstFace * npy.cols])).toBe(false);
    // timestamps are the file's own (variable) times, strictly increasing
    for (let i = 1; i < rows.length; i++) expect(Number(rows[i].timestamp)).toBeGreaterThan(Number(rows[i - 1].timestamp));
  });

  it('a video without faces gives one empty row per frame', async ({ skip }) => {
    skip(!haveSharedVideos, SKIP_SHARED);
    const r = await pipeline.run(sharedVideo('no_face.mp4'), { outDir: freshDir('out'), stem: 'none' });
    const rows = readRows(r.outputs.facesCsv);
    expect(rows).toHaveLength(95);
    expect(rows.every((x) => x.face_id === '')).toBe(true);
    expect(r.faceIds).toEqual([]);
    expect(r.warnings).toEqual([]);
  });

  it('two faces in one frame keep two stable ids', async () => {
    const r = await pipeline.run(twoFaceVideo(), { outDir: freshDir('out'), stem: 'two' });
    const rows = readRows(r.outputs.facesCsv);
    const byFrame = new Map<string, Row[]>();
    for (const x of rows) byFrame.set(x.frame, [...(byFrame.get(x.frame) ?? []), x]);
    expect(byFrame.size).toBe(60);
    for (const faces of byFrame.values()) {
      expect(faces.map((x) => x.face_id).sort()).toEqual(['0', '1']);
    }
    // each id stays on its side of the frame
    const side = (id: string) => new Set(rows.filter((x) => x.face_id === id).map((x) => Number(x.x) > 640));
    expect(side('0').size).toBe(1);
    expect(side('1').size).toBe(1);
    expect([...side('0')][0]).not.toBe([...side('1')][0]);
  });

  it('a face that leaves and comes back gets its id back (re-identification), or a new one with reid off', async () => {
    const video = faceLeavesAndReturns();
    const r = await pipeline.run(video, { outDir: freshDir('out'), stem: 'ret' });
    const rows = readRows(r.outputs.facesCsv);
    const ids = rows.map((x) => x.face_id);
    const gap = ids.indexOf('');
    expect(gap).toBeGreaterThan(20);
    expect(ids.slice(gap + 5).some((id) => id !== '')).toBe(true); // it came back
    expect(r.faceIds).toEqual([0]);

    const noReid = await FeaturePipeline.create({ tools, provider: 'cpu', cacheDir, face: resolveFaceSettings({ reid: false }), extractors: ['landmarks'] });
    const r2 = await noReid.run(video, { outDir: freshDir('out'), stem: 'ret2' });
    expect(r2.faceIds).toEqual([0, 1]);
  });

  it('stride and time range keep true frame numbers', async () => {
    const p = await FeaturePipeline.create({ tools, provider: 'cpu', cacheDir, extractors: ['landmarks'], face: resolveFaceSettings({ stride: 4, start: 1, end: 2 }) });
    const r = await p.run(sampleVideo('single_face.mp4'), { outDir: freshDir('out'), stem: 's' });
    const frames = readRows(r.outputs.facesCsv).map((x) => Number(x.frame));
    // 30 fps: frames k with (k−1) % 4 == 0 and 1 ≤ (k−1)/30 < 2
    expect(frames).toEqual([33, 37, 41, 45, 49, 53, 57]);
  });
});

describe('features pipeline without faces (runs everywhere)', () => {
  it('processes a synthetic video: every frame accounted, no face', async () => {
    const { testPatternVideo } = await import('../helpers/fixtures.js');
    const p = await FeaturePipeline.create({ tools, provider: 'cpu', face: DEFAULT_FACE_SETTINGS, cacheDir: false, extractors: ['expression', 'landmarks'] });
    const out = freshDir('out');
    const r = await p.run(testPatternVideo(12, 25), { outDir: out, stem: 'pattern' });
    expect(r.cache).toBe('disabled');
    const rows = readRows(r.outputs.facesCsv);
    expect(rows.map((x) => x.frame)).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)));
    const npy = readNpy(r.outputs.featuresNpy);
    expect([npy.rows, npy.cols]).toEqual([12, 263 + 1404]);
    expect(npy.data.every((v) => Number.isNaN(v))).toBe(true);
    expect(path.basename(r.outputs.meta)).toBe('pattern.features.json');
  });
});
