/**
 * The int8 variants of the expression CNN and FaceRes (`--int8`): really quantised, kept apart in
 * the cache, and close to the float features on the acted clip — by the documented margins
 * (docs/features.md), which this test holds them to.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FACE_SETTINGS } from '../../electron/engine/features/face-settings.js';
import { FeaturePipeline, type VideoFeaturesResult } from '../../electron/engine/features/pipeline.js';
import { precomputedBlocks, Predictor, type PredictionRow } from '../../electron/engine/predict/predictor.js';
import { precomputedRows } from '../../electron/engine/predict/predict-features.js';
import { ensureInt8FaceModel } from '../../models/pretrained/face-models.js';
import { NpyWriter, readNpyHeader, readNpyRows } from '../../models/data/npy.js';
import { ensureStarterBundle } from '../../models/starter/starter-bundle.js';
import { AUS, EXPRESSIONS, topExpression } from '../../common/labels.js';
import { freshDir, sampleVideo, tools } from '../helpers/fixtures.js';

const EXTRACTORS = ['expression', 'faceres', 'landmarks'];

function features(r: VideoFeaturesResult): { rows: number; cols: number; data: Float32Array } {
  const h = readNpyHeader(r.outputs.featuresNpy);
  return { ...h, data: readNpyRows(r.outputs.featuresNpy, h, 0, h.rows) };
}

/** The starter bundle's predictions from the expression and landmark columns of a features file. */
async function starterOn(f: { rows: number; cols: number; data: Float32Array }): Promise<PredictionRow[]> {
  const file = path.join(freshDir('npy'), 'x.npy');
  const w = new NpyWriter(file, 263 + 1404);
  for (let r = 0; r < f.rows; r++) {
    const row = f.data.subarray(r * f.cols, (r + 1) * f.cols);
    w.append(Float32Array.from([...row.subarray(0, 263), ...row.subarray(263 + 1024)]));
  }
  w.close();
  const p = await Predictor.create({ provider: 'cpu', bundleDirs: [ensureStarterBundle()], maxGapSeconds: 1 });
  const h = readNpyHeader(file);
  return p.predictTable([...precomputedRows(file, h, 30)], precomputedBlocks(p.runners[0].bundle, file, h), 30);
}

describe('int8 variants of the expression CNN and FaceRes', () => {
  let fp32: VideoFeaturesResult;
  let int8: VideoFeaturesResult;
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = freshDir('cache');
    const run = async (int8On: boolean) => (await FeaturePipeline.create({ tools, provider: 'cpu', face: DEFAULT_FACE_SETTINGS, cacheDir, extractors: EXTRACTORS, int8: int8On }))
      .run(sampleVideo('WolfgangLanger_Pexels.mp4'), { outDir: freshDir('out'), stem: 'wolf' });
    fp32 = await run(false);
    int8 = await run(true);
  });

  it('are int8 models: weights stored as int8, convolutions between quantise/dequantise pairs', () => {
    for (const id of ['emotion', 'faceres'] as const) {
      const m = onnxProto.onnx.ModelProto.decode(readFileSync(ensureInt8FaceModel(id)));
      const ops = m.graph?.node?.map((n) => n.opType) ?? [];
      expect(ops.filter((o) => o === 'QuantizeLinear').length, id).toBeGreaterThan(0);
      expect(m.graph?.initializer?.some((t) => t.dataType === onnxProto.onnx.TensorProto.DataType.INT8), id).toBe(true);
    }
  });

  it('share the tracking with the float run and keep their own cache files', () => {
    expect(int8.cache).toBe('partial'); // tracking replayed, only the int8 extractors computed
    expect(readFileSync(int8.outputs.facesCsv)).toEqual(readFileSync(fp32.outputs.facesCsv));
    const meta = JSON.parse(readFileSync(int8.outputs.meta, 'utf8')) as { extractors: { id: string; variant?: string }[] };
    expect(meta.extractors.map((e) => `${e.id}${e.variant ? `~${e.variant}` : ''}`)).toEqual(['expression~int8', 'faceres~int8', 'landmarks']);
  });

  it('stay within the documented deviation of the float features and of the starter bundle\'s predictions', async () => {
    const a = features(fp32);
    const b = features(int8);
    let cosMin = 1;
    let cosSum = 0;
    let agree = 0;
    for (let r = 0; r < a.rows; r++) {
      const x = a.data.subarray(r * a.cols, (r + 1) * a.cols);
      const y = b.data.subarray(r * b.cols, (r + 1) * b.cols);
      let dot = 0, nx = 0, ny = 0;
      for (let i = 263; i < 263 + 1024; i++) {
        dot += x[i] * y[i];
        nx += x[i] ** 2;
        ny += y[i] ** 2;
      }
      const cos = dot / Math.sqrt(nx * ny);
      cosMin = Math.min(cosMin, cos);
      cosSum += cos;
      if (topExpression(x.subarray(256, 263)) === topExpression(y.subarray(256, 263))) agree++;
      // the landmark columns are not touched
      expect(Array.from(y.subarray(263 + 1024))).toEqual(Array.from(x.subarray(263 + 1024)));
    }
    console.log(`FaceRes descriptor cosine int8 vs float: min ${cosMin.toFixed(4)}, mean ${(cosSum / a.rows).toFixed(4)}; expression class agreement ${(agree / a.rows).toFixed(3)}`);
    expect(cosMin).toBeGreaterThan(0.98);
    expect(cosSum / a.rows).toBeGreaterThan(0.99);
    expect(agree / a.rows).toBeGreaterThan(0.95);

    const [pa, pb] = [await starterOn(a), await starterOn(b)];
    let vaMax = 0, vaSum = 0, auMax = 0, exprAgree = 0, n = 0;
    pa.forEach((r, i) => {
      const s = pb[i];
      if (r.valence === undefined || s.valence === undefined) return;
      n++;
      for (const d of [Math.abs(r.valence - s.valence), Math.abs((r.arousal as number) - (s.arousal as number))]) {
        vaMax = Math.max(vaMax, d);
        vaSum += d / 2;
      }
      AUS.forEach((_, k) => (auMax = Math.max(auMax, Math.abs((r.au as Float32Array)[k] - (s.au as Float32Array)[k]))));
      if (EXPRESSIONS[topExpression(r.expression as Float32Array)] === EXPRESSIONS[topExpression(s.expression as Float32Array)]) exprAgree++;
    });
    console.log(`starter bundle int8 vs float over ${n} frames: V/A max ${vaMax.toFixed(4)}, mean ${(vaSum / n).toFixed(4)}; AU max ${auMax.toFixed(4)}; expression agreement ${(exprAgree / n).toFixed(3)}`);
    expect(n).toBe(472);
    expect(vaMax).toBeLessThan(0.1);
    expect(vaSum / n).toBeLessThan(0.01);
    expect(auMax).toBeLessThan(0.05);
    expect(exprAgree / n).toBeGreaterThan(0.95);
  });
});
