import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import os from 'node:os';
import path from 'node:path';
import { copyFileSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { ensureFaceModel, FACE_MODELS, tfjsModelJson, type FaceModelId } from '../../models/pretrained/face-models.js';
import { loadTfjsGraphModel, tf } from '../helpers/tfjs.js';
import { freshDir } from '../helpers/fixtures.js';

const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'as-conv-'));

function seededInput(n: number, lo: number, hi: number): Float32Array {
  let s = 12345;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = lo + ((s >>> 8) / 0x1000000) * (hi - lo);
  }
  return out;
}

const ranges: Record<FaceModelId, [number, number, number]> = {
  blazeface: [256, -1, 1],
  facemesh: [192, 0, 1],
  emotion: [64, -1, 1],
  faceres: [224, 0, 255],
  iris: [64, 0, 1],
};

describe('TFJS → ONNX conversion of the face models', () => {
  for (const id of Object.keys(FACE_MODELS) as FaceModelId[]) {
    it(`${id}: ONNX Runtime matches tfjs on the same input`, async () => {
      const [size, lo, hi] = ranges[id];
      const channels = id === 'emotion' ? 1 : 3;
      const input = seededInput(size * size * channels, lo, hi);
      const file = ensureFaceModel(id, { cacheDir });
      const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
      const result = await session.run({ input: new ort.Tensor('float32', input, [1, size, size, channels]) });

      const model = await loadTfjsGraphModel(tfjsModelJson(id));
      const x = tf.tensor4d(input, [1, size, size, channels]);
      for (const out of FACE_MODELS[id].outputs) {
        const raw = model.execute(x, out.tensor) as tf.Tensor;
        const ref = out.reduce === 'mean-hw' ? tf.mean(raw, [1, 2]) : raw;
        const refData = await ref.data();
        const got = result[out.name];
        expect(got.dims).toEqual(ref.shape);
        let maxDiff = 0;
        let maxRef = 0;
        for (let i = 0; i < refData.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs((got.data as Float32Array)[i] - refData[i]));
          maxRef = Math.max(maxRef, Math.abs(refData[i]));
        }
        console.log(`${id}/${out.name} [${ref.shape}]: max |onnx - tfjs| = ${maxDiff.toExponential(2)} (max |tfjs| = ${maxRef.toPrecision(3)})`);
        // 1e-4 relative to the output's scale: mesh coordinates are in pixels (up to 192).
        expect(maxDiff).toBeLessThanOrEqual(1e-4 * Math.max(1, maxRef));
        tf.dispose([raw, ref]);
      }
      x.dispose();
    });
  }
});

describe('the cache key of a conversion', () => {
  it('hashes the source files once, then knows them by size and time; a changed shard makes a new conversion', () => {
    const source = freshDir('src-models');
    for (const f of ['blazeface.json', 'blazeface.bin']) copyFileSync(path.join(path.dirname(tfjsModelJson('blazeface')), f), path.join(source, f));
    const cache = freshDir('conv-cache');
    const first = ensureFaceModel('blazeface', { sourceDir: source, cacheDir: cache });
    const memo = JSON.parse(readFileSync(path.join(cache, 'file-hashes.json'), 'utf8')) as Record<string, string>;
    expect(Object.values(memo)).toHaveLength(1);
    expect(Object.values(memo)[0]).toMatch(/^[0-9a-f]{64}$/);
    // the memo is what the next run trusts: another hash under the same stamp names another conversion
    const memoFile = path.join(cache, 'file-hashes.json');
    writeFileSync(memoFile, JSON.stringify({ [Object.keys(memo)[0]]: 'f'.repeat(64) }));
    expect(ensureFaceModel('blazeface', { sourceDir: source, cacheDir: cache, force: true })).not.toBe(first);
    writeFileSync(memoFile, JSON.stringify(memo));

    // same bytes, another stamp: hashed again, same conversion
    const shard = path.join(source, 'blazeface.bin');
    utimesSync(shard, new Date(), new Date(Date.now() + 5000));
    expect(ensureFaceModel('blazeface', { sourceDir: source, cacheDir: cache, force: true })).toBe(first);
    expect(Object.keys(JSON.parse(readFileSync(memoFile, 'utf8')) as object)).toHaveLength(2);

    // other bytes of the same size: another conversion, even with the memo holding the old stamp's hash
    const bytes = readFileSync(shard);
    bytes[100] ^= 1;
    writeFileSync(shard, bytes);
    const second = ensureFaceModel('blazeface', { sourceDir: source, cacheDir: cache, force: true });
    expect(second).not.toBe(first);

    // a damaged memo only costs the hashing
    writeFileSync(path.join(cache, 'file-hashes.json'), 'garbage');
    expect(ensureFaceModel('blazeface', { sourceDir: source, cacheDir: cache, force: true })).toBe(second);
    expect(JSON.parse(readFileSync(path.join(cache, 'file-hashes.json'), 'utf8'))).toBeTypeOf('object');
  });
});
