/**
 * Resamples a region of an RGB frame into a model's input tensor in one pass: affine warp
 * (rotation, scale, crop), channel order, grayscale, normalisation and layout together, so no
 * intermediate image is ever allocated. Pixels outside the frame are black.
 *
 * This runs for every face of every frame, several times: it is written for speed (no closures or
 * arrays in the inner loop, the channel layout decided once per call, a loop of its own for one tap
 * per pixel, a fast path when all four bilinear taps are inside the frame).
 */
import { affineScale, type Affine } from './geometry.js';

export interface InputSpec {
  width: number;
  height: number;
  channels: 'rgb' | 'bgr' | 'gray';
  layout: 'nhwc' | 'nchw';
  /** value = (pixel × pixelScale − mean[c]) / std[c], pixel in 0…255. */
  pixelScale: number;
  mean: number[];
  std: number[];
  /** Average up to n×n bilinear taps per output pixel when shrinking (anti-aliasing). Default 1. */
  maxSupersample?: number;
}

export const inputLength = (s: Pick<InputSpec, 'width' | 'height' | 'channels'>): number => s.width * s.height * (s.channels === 'gray' ? 1 : 3);

// ITU-R BT.601 luma, as OpenCV and the expression model's training data use.
const LUMA_R = 0.299;
const LUMA_G = 0.587;
const LUMA_B = 0.114;

/**
 * @param toSource maps output pixel coordinates to frame pixel coordinates (continuous).
 */
export function sampleAffine(
  rgb: Uint8Array,
  srcW: number,
  srcH: number,
  toSource: Affine,
  spec: InputSpec,
  out: Float32Array,
  offset = 0,
): void {
  // Shrinking by less than ~1.5× aliases little; beyond that, average about scale² taps per pixel.
  const k = Math.max(1, Math.min(spec.maxSupersample ?? 1, Math.round(affineScale(toSource))));
  const inv = 1 / (k * k);
  const std0 = spec.std[0], std1 = spec.std[1] ?? std0, std2 = spec.std[2] ?? std0;
  const mean0 = spec.mean[0], mean1 = spec.mean[1] ?? mean0, mean2 = spec.mean[2] ?? mean0;
  // value = acc × s + b per output channel, with the tap average folded into s
  const s0 = (spec.pixelScale * inv) / std0, b0 = -mean0 / std0;
  const s1 = (spec.pixelScale * inv) / std1, b1 = -mean1 / std1;
  const s2 = (spec.pixelScale * inv) / std2, b2 = -mean2 / std2;
  const W = spec.width;
  const plane = W * spec.height;
  // Where red, green and blue of output pixel `pix` go (out[base + off], base = offset + pixStep × pix),
  // with the scale and bias of the output channel they land in: decided once, not per pixel.
  const gray = spec.channels === 'gray';
  const nchw = spec.layout === 'nchw';
  const pixStep = nchw || gray ? 1 : 3;
  const chStep = nchw ? plane : 1;
  const bgr = spec.channels === 'bgr';
  const ch: ChannelMap = bgr
    ? { rOff: 2 * chStep, rS: s2, rB: b2, gOff: chStep, gS: s1, gB: b1, bOff: 0, bS: s0, bB: b0 }
    : { rOff: 0, rS: s0, rB: b0, gOff: chStep, gS: s1, gB: b1, bOff: 2 * chStep, bS: s2, bB: b2 };
  if (k === 1) sampleOneTap(rgb, srcW, srcH, toSource, W, spec.height, gray, pixStep, ch, s0, b0, out, offset);
  else sampleSupersampled(rgb, srcW, srcH, toSource, W, spec.height, k, gray, pixStep, ch, s0, b0, out, offset);
}

interface ChannelMap {
  rOff: number; rS: number; rB: number;
  gOff: number; gS: number; gB: number;
  bOff: number; bS: number; bB: number;
}

/**
 * One bilinear tap per output pixel (no shrinking to speak of): the common case (FaceMesh, the
 * detector), kept free of the supersampling loops. Same arithmetic as the general path with k = 1.
 */
function sampleOneTap(rgb: Uint8Array, srcW: number, srcH: number, toSource: Affine, W: number, H: number, gray: boolean, pixStep: number, ch: ChannelMap, s0: number, b0: number, out: Float32Array, offset: number): void {
  const [a, b, c, d, e, f] = toSource;
  const maxX = srcW - 1;
  const maxY = srcH - 1;
  const rowBytes = srcW * 3;
  const { rOff, rS, rB, gOff, gS, gB, bOff, bS, bB } = ch;
  let o = offset;
  for (let y = 0; y < H; y++) {
    const py = y + 0.5;
    for (let x = 0; x < W; x++, o += pixStep) {
      // source position, shifted so integer coordinates are pixel centres
      const u = a * (x + 0.5) + b * py + c - 0.5;
      const v = d * (x + 0.5) + e * py + f - 0.5;
      let r = 0, g = 0, bl = 0;
      if (u >= 0 && v >= 0 && u < maxX && v < maxY) {
        const x0 = u | 0;
        const y0 = v | 0;
        const wx = u - x0;
        const wy = v - y0;
        const p00 = (y0 * srcW + x0) * 3;
        const p10 = p00 + rowBytes;
        const w11 = wx * wy, w10 = wy - w11, w01 = wx - w11, w00 = 1 - wx - wy + w11;
        r = w00 * rgb[p00] + w01 * rgb[p00 + 3] + w10 * rgb[p10] + w11 * rgb[p10 + 3];
        g = w00 * rgb[p00 + 1] + w01 * rgb[p00 + 4] + w10 * rgb[p10 + 1] + w11 * rgb[p10 + 4];
        bl = w00 * rgb[p00 + 2] + w01 * rgb[p00 + 5] + w10 * rgb[p10 + 2] + w11 * rgb[p10 + 5];
      } else if (u > -1 && v > -1 && u < srcW && v < srcH) {
        const acc = borderTap(rgb, srcW, maxX, maxY, u, v, 0, 0, 0);
        r = acc[0]; g = acc[1]; bl = acc[2];
      }
      if (gray) out[o] = (LUMA_R * r + LUMA_G * g + LUMA_B * bl) * s0 + b0;
      else {
        out[o + rOff] = r * rS + rB;
        out[o + gOff] = g * gS + gB;
        out[o + bOff] = bl * bS + bB;
      }
    }
  }
}

/** k × k bilinear taps per output pixel, averaged (anti-aliasing when shrinking). */
function sampleSupersampled(rgb: Uint8Array, srcW: number, srcH: number, toSource: Affine, W: number, H: number, k: number, gray: boolean, pixStep: number, ch: ChannelMap, s0: number, b0: number, out: Float32Array, offset: number): void {
  const [a, b, c, d, e, f] = toSource;
  const maxX = srcW - 1;
  const maxY = srcH - 1;
  const step = 1 / k;
  const rowBytes = srcW * 3;
  const first = 0.5 / k;
  const { rOff, rS, rB, gOff, gS, gB, bOff, bS, bB } = ch;
  let o = offset;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++, o += pixStep) {
      let r = 0, g = 0, bl = 0;
      for (let sy = 0; sy < k; sy++) {
        const py = y + first + sy * step;
        // source position of the row's first tap, shifted so integer coordinates are pixel centres;
        // moving one tap right adds (a, d) × step
        let u = a * (x + first) + b * py + c - 0.5;
        let v = d * (x + first) + e * py + f - 0.5;
        for (let sx = 0; sx < k; sx++, u += a * step, v += d * step) {
          if (u >= 0 && v >= 0 && u < maxX && v < maxY) {
            const x0 = u | 0;
            const y0 = v | 0;
            const wx = u - x0;
            const wy = v - y0;
            const p00 = (y0 * srcW + x0) * 3;
            const p10 = p00 + rowBytes;
            const w11 = wx * wy, w10 = wy - w11, w01 = wx - w11, w00 = 1 - wx - wy + w11;
            r += w00 * rgb[p00] + w01 * rgb[p00 + 3] + w10 * rgb[p10] + w11 * rgb[p10 + 3];
            g += w00 * rgb[p00 + 1] + w01 * rgb[p00 + 4] + w10 * rgb[p10 + 1] + w11 * rgb[p10 + 4];
            bl += w00 * rgb[p00 + 2] + w01 * rgb[p00 + 5] + w10 * rgb[p10 + 2] + w11 * rgb[p10 + 5];
          } else if (u > -1 && v > -1 && u < srcW && v < srcH) {
            const acc = borderTap(rgb, srcW, maxX, maxY, u, v, r, g, bl);
            r = acc[0]; g = acc[1]; bl = acc[2];
          }
        }
      }
      if (gray) out[o] = (LUMA_R * r + LUMA_G * g + LUMA_B * bl) * s0 + b0;
      else {
        out[o + rOff] = r * rS + rB;
        out[o + gOff] = g * gS + gB;
        out[o + bOff] = bl * bS + bB;
      }
    }
  }
}

const border = new Float64Array(3);

/**
 * Adds a tap at the frame's edge to the sums (r, g, bl): pixels outside the frame count as black.
 * Returns the new sums in a shared buffer.
 */
function borderTap(rgb: Uint8Array, srcW: number, maxX: number, maxY: number, u: number, v: number, r: number, g: number, bl: number): Float64Array {
  const x0 = Math.floor(u);
  const y0 = Math.floor(v);
  const wx = u - x0;
  const wy = v - y0;
  for (let j = 0; j < 2; j++) {
    const yy = y0 + j;
    if (yy < 0 || yy > maxY) continue;
    const wyj = j ? wy : 1 - wy;
    for (let i = 0; i < 2; i++) {
      const xx = x0 + i;
      if (xx < 0 || xx > maxX) continue;
      const w = wyj * (i ? wx : 1 - wx);
      const p = (yy * srcW + xx) * 3;
      r += w * rgb[p];
      g += w * rgb[p + 1];
      bl += w * rgb[p + 2];
    }
  }
  border[0] = r;
  border[1] = g;
  border[2] = bl;
  return border;
}
