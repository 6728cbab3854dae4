/**
 * The parameters of a temporal model: names, shapes and initialisation. Layouts follow ONNX, so
 * weights go into the graph as they are:
 * - Linear: y = x·W + b, W [in, out].
 * - GRU layer: W [3H, in], R [3H, H], B [6H] (input biases then recurrent biases); gates z, r, n;
 *   the reset gate applies after the recurrent product (ONNX linear_before_reset = 1, as PyTorch).
 * - LSTM layer: W [4H, in], R [4H, H], B [8H]; gates i, o, f, c (ONNX order; PyTorch's is i, f, c, o).
 * - Transformer layer (post-norm, ReLU, as PyTorch's default encoder layer; or pre-norm, with a final
 *   norm `lnf`); with a relative bias, `relBias` [heads, 2·window + 1] holds each head's bias for the
 *   distances −window … +window.
 */
import { TASK_DIMS, type Task } from '../../common/labels.js';
import { encoderStacks, encoderWidth, feedbackSources, type TemporalConfig } from './config.js';

export interface ParamSpec {
  name: string;
  shape: number[];
  init: 'uniform' | 'zeros' | 'ones' | 'distance-decay';
  /** Bound of the uniform initialisation: 1/√fanIn (PyTorch's default for Linear and RNN layers). */
  fanIn: number;
}

export type Weights = Map<string, Float32Array>;

/** Input width of an encoder stack: features for the shared one, encoder width (+ feedback embeddings) for task stacks. */
export function stackInputDim(config: TemporalConfig, task?: Task): number {
  if (!task) return config.inputDim;
  const f = config.framework;
  const fb = f.type === 'feedback' ? feedbackSources(config, task).length * f.embedDim : 0;
  return encoderWidth(config.encoder) + fb;
}

export function paramSpecs(config: TemporalConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  const add = (name: string, shape: number[], init: ParamSpec['init'], fanIn: number): void => {
    specs.push({ name, shape, init, fanIn });
  };
  const e = config.encoder;
  for (const stack of encoderStacks(config)) {
    const p = `enc.${stack.name}`;
    let inDim = stackInputDim(config, stack.task);
    if (e.type === 'gru' || e.type === 'lstm') {
      const g = e.type === 'gru' ? 3 : 4;
      for (let l = 0; l < stack.layers; l++) {
        add(`${p}.l${l}.W`, [g * e.hidden, inDim], 'uniform', e.hidden);
        add(`${p}.l${l}.R`, [g * e.hidden, e.hidden], 'uniform', e.hidden);
        add(`${p}.l${l}.B`, [2 * g * e.hidden], 'uniform', e.hidden);
        inDim = e.hidden;
      }
    } else {
      const d = e.dModel;
      add(`${p}.in.W`, [inDim, d], 'uniform', inDim);
      add(`${p}.in.b`, [d], 'uniform', inDim);
      for (let l = 0; l < stack.layers; l++) {
        const q = `${p}.l${l}`;
        for (const m of ['q', 'k', 'v', 'o']) {
          add(`${q}.W${m}`, [d, d], 'uniform', d);
          add(`${q}.b${m}`, [d], 'zeros', d);
        }
        add(`${q}.ln1.g`, [d], 'ones', d);
        add(`${q}.ln1.b`, [d], 'zeros', d);
        add(`${q}.W1`, [d, e.ff], 'uniform', d);
        add(`${q}.b1`, [e.ff], 'uniform', d);
        add(`${q}.W2`, [e.ff, d], 'uniform', e.ff);
        add(`${q}.b2`, [d], 'uniform', e.ff);
        add(`${q}.ln2.g`, [d], 'ones', d);
        add(`${q}.ln2.b`, [d], 'zeros', d);
        if (e.relativeBias > 0) add(`${q}.relBias`, [e.heads, 2 * e.relativeBias + 1], 'distance-decay', e.heads);
      }
      if (e.norm === 'pre') {
        add(`${p}.lnf.g`, [d], 'ones', d);
        add(`${p}.lnf.b`, [d], 'zeros', d);
      }
    }
  }
  const f = config.framework;
  if (f.type === 'feedback') {
    for (const t of config.tasks) for (const s of feedbackSources(config, t)) add(`fb.${t}.${s}.E`, [TASK_DIMS[s], f.embedDim], 'uniform', TASK_DIMS[s]);
  }
  const width = encoderWidth(e);
  for (const t of config.tasks) {
    let inDim = width;
    config.heads.hidden.forEach((h, i) => {
      add(`head.${t}.l${i}.W`, [inDim, h], 'uniform', inDim);
      add(`head.${t}.l${i}.b`, [h], 'uniform', inDim);
      inDim = h;
    });
    add(`head.${t}.out.W`, [inDim, TASK_DIMS[t]], 'uniform', inDim);
    add(`head.${t}.out.b`, [TASK_DIMS[t]], 'uniform', inDim);
  }
  return specs;
}

export const paramCount = (config: TemporalConfig): number => paramSpecs(config).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);

/** Small, fast, seedable generator (mulberry32): reproducible initialisation without dependencies. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function initWeights(config: TemporalConfig, seed = 0): Weights {
  const rand = seededRandom(seed);
  const weights: Weights = new Map();
  for (const s of paramSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (s.init === 'ones') data.fill(1);
    else if (s.init === 'distance-decay') {
      // ALiBi's slopes (Press et al., 2022): head h = 1, 2, … favours frames within about 2^(8h/heads) of its own
      const [heads, width] = s.shape;
      const window = (width - 1) / 2;
      for (let h = 0; h < heads; h++) for (let k = 0; k < width; k++) data[h * width + k] = -(2 ** (-(8 * (h + 1)) / heads)) * Math.abs(k - window);
    }
    else if (s.init === 'uniform') {
      const bound = 1 / Math.sqrt(s.fanIn);
      for (let i = 0; i < n; i++) data[i] = (rand() * 2 - 1) * bound;
    }
    weights.set(s.name, data);
  }
  return weights;
}

/** Checks that `weights` has every parameter of `config` with the right size. */
export function checkWeights(config: TemporalConfig, weights: Weights): void {
  for (const s of paramSpecs(config)) {
    const w = weights.get(s.name);
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (!w) throw new Error(`missing weight ${s.name}`);
    if (w.length !== n) throw new Error(`weight ${s.name} has ${w.length} values, expected ${n} ([${s.shape}])`);
  }
}
