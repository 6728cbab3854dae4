import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FACE_SETTINGS } from '../../electron/engine/features/face-settings.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { GraphBuilder } from '../../models/onnx/builder.js';
import { SessionFactory } from '../../electron/engine/onnx/sessions.js';
import { loadManifestExtractor } from '../../electron/engine/features/manifest.js';
import { FeaturePipeline } from '../../electron/engine/features/pipeline.js';
import { readNpyHeader, readNpyRows } from '../../models/data/npy.js';
import { UserError } from '../../common/errors.js';
import type { FaceGeometry } from '../../electron/engine/features/extractor.js';
import type { Frame } from '../../electron/engine/video/decode.js';
import { freshDir, sampleVideo, tools } from '../helpers/fixtures.js';

/** A real ONNX image model: per-channel mean of an NCHW image, i.e. [N,3,H,W] → [N,3]. */
function channelMeanModel(file: string, batch: number | string = 'N', size = 8): void {
  const b = new GraphBuilder('channel-mean');
  const x = b.input('pixels', [batch, 3, size, size]);
  b.expose(b.op('ReduceMean', [x], { axes: [2, 3], keepdims: 0 }), 'means');
  writeFileSync(file, b.build({ producer: 'affect-studio test' }));
}

function manifest(dir: string, fields: Record<string, unknown>): string {
  const file = path.join(dir, 'extractor.json');
  writeFileSync(file, JSON.stringify({
    id: 'chanmean', version: '1', model: 'model.onnx',
    input: { width: 8, height: 8, layout: 'nchw', channels: 'rgb', pixelScale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    output: 'means', crop: { alignment: 'box', scale: 1.0 },
    ...fields,
  }));
  return file;
}

const uniformFrame = (r: number, g: number, b: number): Frame => {
  const rgb = Buffer.alloc(64 * 64 * 3);
  for (let i = 0; i < 64 * 64; i++) rgb.set([r, g, b], 3 * i);
  return { frame: 1, time: 0, width: 64, height: 64, rgb };
};
const face: FaceGeometry = {
  roi: { center: [32, 32], side: 30, angle: 0.2 },
  roll: 0.2,
  keypoints: [[26, 28], [38, 30], [32, 34], [27, 40], [37, 41]],
  landmarks: new Float32Array(468 * 3),
};

describe('user ONNX extractors from a manifest', () => {
  let sessions: SessionFactory;
  beforeAll(() => {
    sessions = new SessionFactory({ provider: 'cpu' });
  });

  it('feeds the model the normalised crop the manifest describes', async () => {
    const dir = freshDir('manifest');
    channelMeanModel(path.join(dir, 'model.onnx'));
    const ex = await loadManifestExtractor(manifest(dir, {}), sessions);
    expect([ex.id, ex.dim, ex.columns]).toEqual(['chanmean', 3, ['chanmean.0', 'chanmean.1', 'chanmean.2']]);
    const [v] = await ex.run(uniformFrame(200, 100, 50), [face]);
    expect(v[0]).toBeCloseTo((200 / 255 - 0.5) / 0.25, 5);
    expect(v[1]).toBeCloseTo((100 / 255 - 0.5) / 0.25, 5);
    expect(v[2]).toBeCloseTo((50 / 255 - 0.5) / 0.25, 5);
  });

  it('honours BGR order and five-point alignment, and runs a fixed-batch-1 model face by face', async () => {
    const dir = freshDir('manifest');
    channelMeanModel(path.join(dir, 'model.onnx'), 1);
    const file = manifest(dir, { input: { width: 8, height: 8, channels: 'bgr', pixelScale: 1, mean: [0], std: [1] }, crop: { alignment: 'fivepoint' } });
    const ex = await loadManifestExtractor(file, sessions);
    const out = await ex.run(uniformFrame(200, 100, 50), [face, face]);
    expect(out).toHaveLength(2);
    for (const v of out) expect(Array.from(v).map((x) => Math.round(x))).toEqual([50, 100, 200]);
  });

  it.each([
    [{ input: { width: -3, height: 8 } }, /field "input.width"/],
    [{ id: 'has space' }, /field "id"/],
    [{ crop: { alignment: 'circle' } }, /field "crop/],
    [{ model: 'nowhere.onnx' }, /nowhere\.onnx is missing/],
    [{ output: 'logits' }, /no output named logits/],
    [{ input: { width: 16, height: 16, layout: 'nchw' } }, /rejects a NCHW input of 1×3×16×16/],
    [{ dim: 512 }, /outputs 3 values per face, the manifest says "dim": 512/],
  ])('a bad manifest %j gets a clear error naming the manifest', async (fields, pattern) => {
    const dir = freshDir('manifest');
    channelMeanModel(path.join(dir, 'model.onnx'), 'N', 8);
    const file = manifest(dir, fields);
    const err = await loadManifestExtractor(file, sessions).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).file).toBe(file);
    expect((err as UserError).describe()).toMatch(pattern);
  });

  it('a corrupt model file is reported as such', async () => {
    const dir = freshDir('manifest');
    writeFileSync(path.join(dir, 'model.onnx'), Buffer.from('this is not a protobuf at all'.repeat(10)));
    const err = await loadManifestExtractor(manifest(dir, {}), sessions).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).describe()).toMatch(/model\.onnx.*cannot load model chanmean/);
    expect((err as UserError).hint).toMatch(/corrupt/);
  });

  it('a malformed manifest (not JSON) is reported', async () => {
    const dir = freshDir('manifest');
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{ "id": "x", ');
    const err = await loadManifestExtractor(file, sessions).then(() => undefined, (e: unknown) => e);
    expect((err as UserError).describe()).toMatch(/broken\.json: extractor manifest cannot be read/);
  });

  it('added to a cached video, only the new extractor runs; cached columns are reused as they are', async () => {
    const dir = freshDir('manifest');
    channelMeanModel(path.join(dir, 'model.onnx'));
    const file = manifest(dir, {});
    const cacheDir = freshDir('cache');
    const base = await FeaturePipeline.create({ tools, provider: 'cpu', face: DEFAULT_FACE_SETTINGS, cacheDir, extractors: ['landmarks'] });
    const r1 = await base.run(sampleVideo('single_face.mp4'), { outDir: freshDir('out'), stem: 'v' });
    const more = await FeaturePipeline.create({ tools, provider: 'cpu', face: DEFAULT_FACE_SETTINGS, cacheDir, extractors: ['landmarks', file] });
    const r2 = await more.run(sampleVideo('single_face.mp4'), { outDir: freshDir('out'), stem: 'v' });
    expect(r2.cache).toBe('partial');
    const h1 = readNpyHeader(r1.outputs.featuresNpy);
    const h2 = readNpyHeader(r2.outputs.featuresNpy);
    expect([h2.rows, h2.cols]).toEqual([h1.rows, 1404 + 3]);
    const a = readNpyRows(r1.outputs.featuresNpy, h1, 0, h1.rows);
    const b = readNpyRows(r2.outputs.featuresNpy, h2, 0, h2.rows);
    for (let r = 0; r < h1.rows; r++) {
      expect(b.subarray(r * 1407, r * 1407 + 1404)).toEqual(a.subarray(r * 1404, (r + 1) * 1404));
      expect(Number.isFinite(b[r * 1407 + 1405])).toBe(true);
    }
  });
});
