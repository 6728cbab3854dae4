/**
 * The crop resampler every face model's input goes through, against a plain reference written for
 * clarity (bilinear taps, black outside the frame, k × k taps averaged when shrinking).
 */
import { describe, expect, it } from 'vitest';
import { sampleAffine, type InputSpec } from '../../electron/engine/face/sample.js';
import type { Affine } from '../../electron/engine/face/geometry.js';

const W = 97;
const H = 61;
const frame = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37 + (i >> 5) * 11) & 255);

function pixel(x: number, y: number, c: number): number {
  return x < 0 || y < 0 || x >= W || y >= H ? 0 : frame[(y * W + x) * 3 + c];
}

function bilinear(u: number, v: number, c: number): number {
  const x0 = Math.floor(u), y0 = Math.floor(v);
  const wx = u - x0, wy = v - y0;
  return (1 - wx) * (1 - wy) * pixel(x0, y0, c) + wx * (1 - wy) * pixel(x0 + 1, y0, c) + (1 - wx) * wy * pixel(x0, y0 + 1, c) + wx * wy * pixel(x0 + 1, y0 + 1, c);
}

function reference(m: Affine, spec: InputSpec): Float32Array {
  const scale = Math.sqrt(Math.abs(m[0] * m[4] - m[1] * m[3]));
  const k = Math.max(1, Math.min(spec.maxSupersample ?? 1, Math.round(scale)));
  const channels = spec.channels === 'gray' ? 1 : 3;
  const out = new Float32Array(spec.width * spec.height * channels);
  for (let y = 0; y < spec.height; y++) {
    for (let x = 0; x < spec.width; x++) {
      const rgb = [0, 1, 2].map((c) => {
        let sum = 0;
        for (let sy = 0; sy < k; sy++) {
          for (let sx = 0; sx < k; sx++) {
            const px = x + (sx + 0.5) / k, py = y + (sy + 0.5) / k;
            sum += bilinear(m[0] * px + m[1] * py + m[2] - 0.5, m[3] * px + m[4] * py + m[5] - 0.5, c);
          }
        }
        return sum / (k * k);
      });
      const values = spec.channels === 'gray' ? [0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]] : spec.channels === 'bgr' ? [rgb[2], rgb[1], rgb[0]] : rgb;
      values.forEach((value, c) => {
        const norm = (value * spec.pixelScale - (spec.mean[c] ?? spec.mean[0])) / (spec.std[c] ?? spec.std[0]);
        const at = spec.layout === 'nchw' ? c * spec.width * spec.height + y * spec.width + x : (y * spec.width + x) * channels + c;
        out[at] = norm;
      });
    }
  }
  return out;
}

const rotation = (angle: number, scale: number, tx: number, ty: number): Affine => [Math.cos(angle) * scale, -Math.sin(angle) * scale, tx, Math.sin(angle) * scale, Math.cos(angle) * scale, ty];

describe('sampleAffine', () => {
  const cases: [string, InputSpec, Affine][] = [
    ['rgb nhwc, one tap, inside', { width: 24, height: 20, channels: 'rgb', layout: 'nhwc', pixelScale: 1 / 255, mean: [0], std: [1] }, rotation(0.2, 0.9, 30, 10)],
    ['rgb nhwc, over the edge', { width: 24, height: 20, channels: 'rgb', layout: 'nhwc', pixelScale: 1 / 255, mean: [0], std: [1] }, rotation(-0.4, 1.3, -8, 40)],
    ['gray, shrinking with 2 × 2 taps', { width: 16, height: 16, channels: 'gray', layout: 'nhwc', pixelScale: 1 / 255, mean: [0.5], std: [0.5], maxSupersample: 2 }, rotation(0.3, 2.6, 10, 5)],
    ['bgr nchw, per-channel mean/std, 3 × 3 taps over the edge', { width: 12, height: 10, channels: 'bgr', layout: 'nchw', pixelScale: 1, mean: [100, 110, 120], std: [50, 60, 70], maxSupersample: 3 }, rotation(0.1, 3.2, -5, 30)],
  ];
  for (const [name, spec, m] of cases) {
    it(`matches the reference: ${name}`, () => {
      const n = spec.width * spec.height * (spec.channels === 'gray' ? 1 : 3);
      const out = new Float32Array(n + 4).fill(-9);
      sampleAffine(frame, W, H, m, spec, out, 2);
      // written exactly at the offset, nothing around it
      expect([out[0], out[1], out[n + 2], out[n + 3]]).toEqual([-9, -9, -9, -9]);
      const want = reference(m, spec);
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(out[i + 2] - want[i]));
      expect(worst).toBeLessThan(1e-3 * Math.max(1, 1 / spec.std[0]));
    });
  }

  it('reproduces the frame exactly under the identity map, and black far outside it', () => {
    const spec: InputSpec = { width: W, height: H, channels: 'rgb', layout: 'nhwc', pixelScale: 1, mean: [0], std: [1] };
    const out = new Float32Array(W * H * 3);
    sampleAffine(frame, W, H, [1, 0, 0, 0, 1, 0], spec, out);
    // the last row and column sit on the border path (their right/lower neighbours are outside)
    for (let y = 0; y < H - 1; y++) for (let x = 0; x < W - 1; x++) for (let c = 0; c < 3; c++) expect(out[(y * W + x) * 3 + c]).toBe(frame[(y * W + x) * 3 + c]);
    sampleAffine(frame, W, H, [1, 0, 10 * W, 0, 1, 0], spec, out);
    expect(out.every((v) => v === 0)).toBe(true);
  });
});
