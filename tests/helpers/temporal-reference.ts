/**
 * An independent plain-TypeScript forward pass of the temporal models: loops over time, units and
 * weights, no ONNX, no shared code with the graph builder beyond the parameter names and layouts
 * (documented in models/temporal/params.ts). The graphs are tested against it.
 */
import { TASK_DIMS, type Task } from '../../common/labels.js';
import { encoderStacks, feedbackSources, stateSpecs, taskOrder, type TemporalConfig } from '../../models/temporal/config.js';
import type { Weights } from '../../models/temporal/params.js';

type Seq = number[][]; // [time][unit]

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

function linear(x: Seq, W: Float32Array, b: Float32Array, out: number): Seq {
  const inDim = x[0].length;
  return x.map((row) => {
    const y = new Array(out).fill(0);
    for (let o = 0; o < out; o++) {
      let s = b[o];
      for (let i = 0; i < inDim; i++) s += row[i] * W[i * out + o];
      y[o] = s;
    }
    return y;
  });
}

/** rows [start, start+n) of a [rows, cols] matrix times v */
function matvec(M: Float32Array, cols: number, start: number, n: number, v: number[]): number[] {
  const out = new Array(n).fill(0);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += M[(start + r) * cols + c] * v[c];
    out[r] = s;
  }
  return out;
}

function gru(x: Seq, W: Float32Array, R: Float32Array, B: Float32Array, H: number, h0: number[]): { y: Seq; h: number[] } {
  let h = [...h0];
  const inDim = x[0].length;
  const y: Seq = [];
  for (const xt of x) {
    const wz = matvec(W, inDim, 0, H, xt), wr = matvec(W, inDim, H, H, xt), wn = matvec(W, inDim, 2 * H, H, xt);
    const rz = matvec(R, H, 0, H, h), rr = matvec(R, H, H, H, h), rn = matvec(R, H, 2 * H, H, h);
    const next = new Array(H);
    for (let j = 0; j < H; j++) {
      const z = sigmoid(wz[j] + B[j] + rz[j] + B[3 * H + j]);
      const r = sigmoid(wr[j] + B[H + j] + rr[j] + B[4 * H + j]);
      const n = Math.tanh(wn[j] + B[2 * H + j] + r * (rn[j] + B[5 * H + j]));
      next[j] = (1 - z) * n + z * h[j];
    }
    h = next;
    y.push(h);
  }
  return { y, h };
}

function lstm(x: Seq, W: Float32Array, R: Float32Array, B: Float32Array, H: number, h0: number[], c0: number[]): { y: Seq; h: number[]; c: number[] } {
  let h = [...h0];
  let c = [...c0];
  const inDim = x[0].length;
  const y: Seq = [];
  for (const xt of x) {
    const gate = (k: number) => {
      const w = matvec(W, inDim, k * H, H, xt);
      const r = matvec(R, H, k * H, H, h);
      return w.map((v, j) => v + r[j] + B[k * H + j] + B[4 * H + k * H + j]);
    };
    const i = gate(0).map(sigmoid), o = gate(1).map(sigmoid), f = gate(2).map(sigmoid), g = gate(3).map(Math.tanh);
    c = c.map((cj, j) => f[j] * cj + i[j] * g[j]);
    h = c.map((cj, j) => o[j] * Math.tanh(cj));
    y.push(h);
  }
  return { y, h, c };
}

function layerNorm(x: Seq, g: Float32Array, b: Float32Array): Seq {
  return x.map((row) => {
    const mean = row.reduce((a, v) => a + v, 0) / row.length;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / row.length;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * g[i] + b[i]);
  });
}

interface LayerOptions {
  heads: number;
  ff: number;
  norm: 'post' | 'pre';
  /** 0: no relative bias */
  relativeBias: number;
}

function transformerLayer(x: Seq, w: (n: string) => Float32Array, p: string, o: LayerOptions): Seq {
  const d = x[0].length;
  const dh = d / o.heads;
  const pre = o.norm === 'pre';
  const a = pre ? layerNorm(x, w(`${p}.ln1.g`), w(`${p}.ln1.b`)) : x;
  const q = linear(a, w(`${p}.Wq`), w(`${p}.bq`), d);
  const k = linear(a, w(`${p}.Wk`), w(`${p}.bk`), d);
  const v = linear(a, w(`${p}.Wv`), w(`${p}.bv`), d);
  const ctx: Seq = x.map(() => new Array(d).fill(0));
  const K = o.relativeBias;
  for (let hd = 0; hd < o.heads; hd++) {
    for (let t = 0; t < x.length; t++) {
      const scores = x.map((_, s) => {
        let dot = 0;
        for (let j = 0; j < dh; j++) dot += q[t][hd * dh + j] * k[s][hd * dh + j];
        // the head's learned bias for the distance s − t, clipped to ±K
        const bias = K > 0 ? w(`${p}.relBias`)[hd * (2 * K + 1) + Math.max(-K, Math.min(K, s - t)) + K] : 0;
        return dot / Math.sqrt(dh) + bias;
      });
      const m = Math.max(...scores);
      const ex = scores.map((s) => Math.exp(s - m));
      const sum = ex.reduce((a2, b) => a2 + b, 0);
      for (let s = 0; s < x.length; s++) for (let j = 0; j < dh; j++) ctx[t][hd * dh + j] += (ex[s] / sum) * v[s][hd * dh + j];
    }
  }
  const attn = linear(ctx, w(`${p}.Wo`), w(`${p}.bo`), d);
  const sum1 = x.map((r, t) => r.map((val, i) => val + attn[t][i]));
  const h1 = pre ? sum1 : layerNorm(sum1, w(`${p}.ln1.g`), w(`${p}.ln1.b`));
  const f = pre ? layerNorm(h1, w(`${p}.ln2.g`), w(`${p}.ln2.b`)) : h1;
  const hid = linear(f, w(`${p}.W1`), w(`${p}.b1`), o.ff).map((r) => r.map((val) => Math.max(0, val)));
  const f2 = linear(hid, w(`${p}.W2`), w(`${p}.b2`), d);
  const sum2 = h1.map((r, t) => r.map((val, i) => val + f2[t][i]));
  return pre ? sum2 : layerNorm(sum2, w(`${p}.ln2.g`), w(`${p}.ln2.b`));
}

export interface ReferenceResult {
  outputs: Map<Task, Seq[]>; // per batch item: [time][dim]
  state: Map<string, number[][][]>; // name → [layer][batch][hidden]
}

/**
 * @param features per batch item: [time][inputDim]
 * @param state per state name: [layer][batch][hidden] (zeros when absent)
 */
export function referenceForward(config: TemporalConfig, weights: Weights, features: Seq[], state?: Map<string, number[][][]>): ReferenceResult {
  const w = (n: string): Float32Array => {
    const v = weights.get(n);
    if (!v) throw new Error(`reference: no weight ${n}`);
    return v;
  };
  const e = config.encoder;
  const newState = new Map<string, number[][][]>();
  const stateOf = (name: string, layers: number, H: number): number[][][] =>
    state?.get(name) ?? Array.from({ length: layers }, () => features.map(() => new Array(H).fill(0)));
  for (const s of stateSpecs(config)) newState.set(s.name, Array.from({ length: s.dims[0] as number }, () => []));

  const runStack = (inputs: Seq[], name: string, layers: number, positions: boolean): Seq[] => {
    if (e.type === 'transformer') {
      return inputs.map((x) => {
        let h = linear(x, w(`enc.${name}.in.W`), w(`enc.${name}.in.b`), e.dModel);
        if (positions && e.positions === 'sinusoidal') {
          h = h.map((row, p) => row.map((val, i) => {
            const angle = p / 10000 ** ((i - (i % 2)) / e.dModel);
            return val + (i % 2 ? Math.cos(angle) : Math.sin(angle));
          }));
        }
        for (let l = 0; l < layers; l++) h = transformerLayer(h, w, `enc.${name}.l${l}`, e);
        return e.norm === 'pre' ? layerNorm(h, w(`enc.${name}.lnf.g`), w(`enc.${name}.lnf.b`)) : h;
      });
    }
    const H = e.hidden;
    const hState = stateOf(e.type === 'lstm' ? `${name}.h` : name, layers, H);
    const cState = e.type === 'lstm' ? stateOf(`${name}.c`, layers, H) : undefined;
    return inputs.map((x, bi) => {
      let seq = x;
      for (let l = 0; l < layers; l++) {
        const p = `enc.${name}.l${l}`;
        if (e.type === 'gru') {
          const r = gru(seq, w(`${p}.W`), w(`${p}.R`), w(`${p}.B`), H, hState[l][bi]);
          seq = r.y;
          (newState.get(name) as number[][][])[l][bi] = r.h;
        } else {
          const r = lstm(seq, w(`${p}.W`), w(`${p}.R`), w(`${p}.B`), H, hState[l][bi], (cState as number[][][])[l][bi]);
          seq = r.y;
          (newState.get(`${name}.h`) as number[][][])[l][bi] = r.h;
          (newState.get(`${name}.c`) as number[][][])[l][bi] = r.c;
        }
      }
      return seq;
    });
  };

  const shared = runStack(features, 'shared', e.layers, true);
  const stacks = new Map(encoderStacks(config).map((s) => [s.task, s]));
  const outputs = new Map<Task, Seq[]>();
  for (const t of taskOrder(config)) {
    let g = shared;
    const own = stacks.get(t);
    if (own) {
      const inputs = shared.map((seq, bi) => seq.map((row, time) => {
        const parts = [...row];
        for (const s of feedbackSources(config, t)) {
          const out = (outputs.get(s) as Seq[])[bi][time];
          let p: number[];
          if (s === 'expression') {
            const m = Math.max(...out);
            const ex = out.map((v) => Math.exp(v - m));
            const sum = ex.reduce((a, b) => a + b, 0);
            p = ex.map((v) => v / sum);
          } else if (s === 'au') p = out.map(sigmoid);
          else p = out;
          const E = w(`fb.${t}.${s}.E`);
          const dim = E.length / TASK_DIMS[s];
          for (let j = 0; j < dim; j++) parts.push(p.reduce((a, v, i) => a + v * E[i * dim + j], 0));
        }
        return parts;
      }));
      g = runStack(inputs, t, own.layers, false);
    }
    outputs.set(t, g.map((seq) => {
      let h = seq;
      config.heads.hidden.forEach((size, i) => {
        h = linear(h, w(`head.${t}.l${i}.W`), w(`head.${t}.l${i}.b`), size).map((r) => r.map((v) => Math.max(0, v)));
      });
      return linear(h, w(`head.${t}.out.W`), w(`head.${t}.out.b`), TASK_DIMS[t]);
    }));
  }
  return { outputs, state: newState };
}
