import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NpyWriter, readNpyHeader, readNpyRows } from '../../models/data/npy.js';
import { freshDir } from '../helpers/fixtures.js';

const numpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

describe('.npy files', () => {
  it('streams rows (more than one chunk), NaN rows for missing faces, and patches the row count', () => {
    const file = path.join(freshDir('npy'), 'x.npy');
    const w = new NpyWriter(file, 3, 4);
    for (let i = 0; i < 10; i++) w.append(i === 5 ? undefined : Float32Array.from([i, i + 0.5, -i]));
    w.close();
    const h = readNpyHeader(file);
    expect(h).toMatchObject({ rows: 10, cols: 3, dataOffset: 128 });
    const all = readNpyRows(file, h, 0, 10);
    expect(Array.from(all.subarray(6 * 3, 7 * 3))).toEqual([6, 6.5, -6]);
    expect(Array.from(all.subarray(15, 18)).every(Number.isNaN)).toBe(true);
    expect(Array.from(readNpyRows(file, h, 9, 1))).toEqual([9, 9.5, -9]);
  });

  it('rejects a truncated or non-float32 file with its name', () => {
    const dir = freshDir('npy');
    const file = path.join(dir, 'x.npy');
    const w = new NpyWriter(file, 2);
    w.append(Float32Array.from([1, 2]));
    w.close();
    writeFileSync(path.join(dir, 'cut.npy'), readFileSync(file).subarray(0, 130));
    expect(() => readNpyHeader(path.join(dir, 'cut.npy'))).toThrow(/cut\.npy is truncated/);
    writeFileSync(path.join(dir, 'text.npy'), 'hello');
    expect(() => readNpyHeader(path.join(dir, 'text.npy'))).toThrow(/text\.npy is not a \.npy file/);
  });

  it.skipIf(!numpy)('NumPy reads what we write, and we read what NumPy writes', () => {
    const dir = freshDir('npy');
    const ours = path.join(dir, 'ours.npy');
    const w = new NpyWriter(ours, 4);
    w.append(Float32Array.from([1, 2, 3, 4]));
    w.append(undefined);
    w.close();
    const theirs = path.join(dir, 'theirs.npy');
    const out = execFileSync('python3', ['-c', `
import numpy as np, sys
x = np.load(sys.argv[1]); print(x.dtype, x.shape, x[0].tolist(), bool(np.isnan(x[1]).all()))
np.save(sys.argv[2], np.arange(12, dtype=np.float32).reshape(3, 4))`, ours, theirs], { encoding: 'utf8' });
    expect(out.trim()).toBe('float32 (2, 4) [1.0, 2.0, 3.0, 4.0] True');
    const h = readNpyHeader(theirs);
    expect([h.rows, h.cols]).toEqual([3, 4]);
    expect(Array.from(readNpyRows(theirs, h, 2, 1))).toEqual([8, 9, 10, 11]);
  });
});
