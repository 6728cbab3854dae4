/**
 * The temporal models in TensorFlow.js, for training. Parameters have the names and layouts of
 * models/temporal/params.ts, and the forward pass is the math of models/temporal/graph.ts, so the
 * trained weights go into the ONNX graph unchanged (export checks it on held-out inputs).
 *
 * GRU and LSTM cells are written by hand with the input projection computed once for the whole
 * segment (much faster than tfjs-layers' RNNs, whose defaults also differ from ONNX).
 */
import { TASK_DIMS, type Task } from '../../common/labels.js';
import { encoderStacks, feedbackSources, stateSpecs, taskOrder, type TemporalConfig } from '../temporal/config.js';
import { sinusoidalPositions } from '../temporal/graph.js';
import { paramSpecs, type Weights } from '../temporal/params.js';
import { detach, tf } from './tf.js';
import { gruSequence, lstmSequence } from './recurrent.js';

/** Ground truth for the feedback inputs during training (a fraction of time steps use it instead of predictions). */
export interface FeedbackTruth {
  /** [B, T] values and validity (1/0) per task */
  valence?: { value: tf.Tensor2D; valid: tf.Tensor2D };
  arousal?: { value: tf.Tensor2D; valid: tf.Tensor2D };
  /** [B, T, 8] one-hot, [B, T] validity */
  expression?: { value: tf.Tensor3D; valid: tf.Tensor2D };
  /** [B, T, 12] 0/1, [B, T, 12] validity */
  au?: { value: tf.Tensor3D; valid: tf.Tensor3D };
}

export interface ForwardOptions {
  training: boolean;
  /** Seed source for dropout and ground-truth mixing (training only). */
  random?: () => number;
  /** [B, T]: 1 for real frames, 0 for padding (the transformer must not attend to padding). */
  mask?: tf.Tensor2D;
  truth?: FeedbackTruth;
  /** Fraction of time steps whose feedback input is the ground truth (training only). */
  mixRate?: number;
}

export interface ForwardResult {
  /** valence/arousal [B, T]; expression [B, T, 8] and au [B, T, 12] logits */
  outputs: Partial<Record<Task, tf.Tensor>>;
  /** Final recurrent states, [layers, B, H] each (to carry into the next segment). */
  state: Map<string, tf.Tensor>;
}

export class TrainableModel {
  readonly vars = new Map<string, tf.Variable>();
  private readonly shapes = new Map<string, number[]>();
  private positions?: tf.Tensor2D;
  /** Per segment length: the one-hot map from (i, j) to the clipped distance j − i (relative bias). */
  private readonly distanceMaps = new Map<number, tf.Tensor2D>();

  /** tfjs variable names must be unique in the process: each model gets its own suffix. */
  private static instances = 0;

  constructor(
    readonly config: TemporalConfig,
    weights: Weights,
    /** Prefix of the tfjs variable names (unique among live models); a stable one lets optimizer state be restored. */
    namePrefix = `m${++TrainableModel.instances}`,
  ) {
    for (const s of paramSpecs(config)) {
      const w = weights.get(s.name);
      if (!w) throw new Error(`missing weight ${s.name}`);
      this.shapes.set(s.name, s.shape);
      this.vars.set(s.name, tf.variable(tf.tensor(w, s.shape), true, `${namePrefix}/${s.name}`));
    }
  }

  /** The current weights, for export and checkpoints. */
  weights(): Weights {
    return new Map([...this.vars].map(([name, v]) => [name, v.dataSync() as Float32Array]));
  }

  setWeights(weights: Weights): void {
    for (const [name, v] of this.vars) v.assign(tf.tensor(weights.get(name) as Float32Array, this.shapes.get(name)));
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.positions?.dispose();
    for (const m of this.distanceMaps.values()) m.dispose();
  }

  private v(name: string): tf.Variable {
    const x = this.vars.get(name);
    if (!x) throw new Error(`no parameter ${name}`);
    return x;
  }

  zeroState(batch: number): Map<string, tf.Tensor> {
    return new Map(stateSpecs(this.config).map((s) => [s.name, tf.zeros(s.dims.map((d) => (d === 'batch' ? batch : d)))]));
  }

  /** x·W + b over the last axis, as a 2-D matMul (the fast path of the wasm backend). */
  private linear(x: tf.Tensor, p: string): tf.Tensor {
    const W = this.v(`${p}.W`);
    const shape = x.shape as number[];
    const flat = x.reshape([-1, shape[shape.length - 1]]);
    return tf.add(tf.matMul(flat, W), this.v(`${p}.b`)).reshape([...shape.slice(0, -1), W.shape[1] as number]);
  }

  private dropout(x: tf.Tensor, rate: number, o: ForwardOptions): tf.Tensor {
    if (!o.training || rate <= 0) return x;
    return tf.dropout(x, rate, undefined, Math.floor((o.random?.() ?? Math.random()) * 2 ** 31));
  }

  private recurrent(x: tf.Tensor3D, name: string, layers: number, state: Map<string, tf.Tensor>, out: Map<string, tf.Tensor>, o: ForwardOptions): tf.Tensor3D {
    const e = this.config.encoder as { type: 'gru' | 'lstm'; hidden: number; dropout: number };
    const H = e.hidden;
    const lstm = e.type === 'lstm';
    const g = lstm ? 4 : 3;
    const [B, T] = x.shape;
    const hAll = state.get(lstm ? `${name}.h` : name) as tf.Tensor3D;
    const cAll = lstm ? (state.get(`${name}.c`) as tf.Tensor3D) : undefined;
    const finals: tf.Tensor2D[] = [];
    const cells: tf.Tensor2D[] = [];
    let seq: tf.Tensor3D = x;
    for (let l = 0; l < layers; l++) {
      const p = `enc.${name}.l${l}`;
      const W = this.v(`${p}.W`);
      const R = this.v(`${p}.R`);
      const bias = this.v(`${p}.B`);
      const Wb = bias.slice([0], [g * H]);
      const Rb = bias.slice([g * H], [g * H]);
      // input projection for all time steps at once: [B, T, gH]
      const xp = tf.add(tf.matMul(seq.reshape([B * T, -1]), tf.transpose(W)), Wb).reshape([B, T, g * H]) as tf.Tensor3D;
      const h0 = hAll.slice([l, 0, 0], [1, B, H]).reshape([B, H]) as tf.Tensor2D;
      let h: tf.Tensor2D;
      let c: tf.Tensor2D | undefined;
      if (!lstm) {
        seq = gruSequence(xp, R as tf.Tensor2D, Rb as tf.Tensor1D, h0);
        h = seq.slice([0, T - 1, 0], [B, 1, H]).reshape([B, H]) as tf.Tensor2D;
      } else {
        const c0 = (cAll as tf.Tensor3D).slice([l, 0, 0], [1, B, H]).reshape([B, H]) as tf.Tensor2D;
        const both = lstmSequence(xp, R as tf.Tensor2D, Rb as tf.Tensor1D, h0, c0);
        seq = both.slice([0, 0, 0], [B, T, H]) as tf.Tensor3D;
        h = seq.slice([0, T - 1, 0], [B, 1, H]).reshape([B, H]) as tf.Tensor2D;
        c = both.slice([0, T - 1, H], [B, 1, H]).reshape([B, H]) as tf.Tensor2D;
      }
      finals.push(h);
      if (c) cells.push(c);
      // dropout between stacked layers, as PyTorch's RNNs apply it
      if (l < layers - 1) seq = this.dropout(seq, e.dropout, o) as tf.Tensor3D;
    }
    out.set(lstm ? `${name}.h` : name, tf.stack(finals, 0));
    if (lstm) out.set(`${name}.c`, tf.stack(cells, 0));
    return seq;
  }

  private transformer(x: tf.Tensor3D, name: string, layers: number, positions: boolean, o: ForwardOptions): tf.Tensor3D {
    const e = this.config.encoder as Extract<TemporalConfig['encoder'], { type: 'transformer' }>;
    const d = e.dModel;
    const dh = d / e.heads;
    const [B, T] = x.shape;
    let h = this.linear(x, `enc.${name}.in`) as tf.Tensor3D;
    if (positions && e.positions === 'sinusoidal') {
      // created inside someone's tidy scope: keep it past that scope
      this.positions ??= tf.keep(tf.tensor2d(sinusoidalPositions(this.config.segmentLength, d), [this.config.segmentLength, d]));
      h = tf.add(h, this.positions.slice([0, 0], [T, d])) as tf.Tensor3D;
    }
    // padded frames are never attended to
    const keyMask = o.mask ? tf.mul(tf.sub(1, o.mask), -1e9).reshape([B, 1, 1, T]) : undefined;
    const heads = (t: tf.Tensor) => tf.transpose(t.reshape([B, T, e.heads, dh]), [0, 2, 1, 3]);
    const pre = e.norm === 'pre';
    for (let l = 0; l < layers; l++) {
      const p = `enc.${name}.l${l}`;
      const a = pre ? this.layerNorm(h, `${p}.ln1`) : h;
      const proj = (m: string) => heads(tf.add(tf.matMul(a.reshape([B * T, d]), this.v(`${p}.W${m}`)), this.v(`${p}.b${m}`)).reshape([B, T, d]));
      const q = proj('q');
      const k = proj('k');
      const v = proj('v');
      let scores = tf.mul(tf.matMul(q, tf.transpose(k, [0, 1, 3, 2])), 1 / Math.sqrt(dh));
      if (e.relativeBias > 0) scores = tf.add(scores, this.relativeBias(`${p}.relBias`, T, e.relativeBias));
      if (keyMask) scores = tf.add(scores, keyMask);
      const ctx = tf.matMul(this.dropout(tf.softmax(scores), e.dropout, o), v);
      const merged = tf.transpose(ctx, [0, 2, 1, 3]).reshape([B * T, d]);
      const attn = tf.add(tf.matMul(merged, this.v(`${p}.Wo`)), this.v(`${p}.bo`)).reshape([B, T, d]);
      h = tf.add(h, this.dropout(attn, e.dropout, o)) as tf.Tensor3D;
      if (!pre) h = this.layerNorm(h, `${p}.ln1`) as tf.Tensor3D;
      const f = pre ? this.layerNorm(h, `${p}.ln2`) : h;
      const f1 = tf.relu(tf.add(tf.matMul(f.reshape([B * T, d]), this.v(`${p}.W1`)), this.v(`${p}.b1`)));
      const f2 = tf.add(tf.matMul(this.dropout(f1, e.dropout, o), this.v(`${p}.W2`)), this.v(`${p}.b2`)).reshape([B, T, d]);
      h = tf.add(h, this.dropout(f2, e.dropout, o)) as tf.Tensor3D;
      if (!pre) h = this.layerNorm(h, `${p}.ln2`) as tf.Tensor3D;
    }
    return pre ? (this.layerNorm(h, `enc.${name}.lnf`) as tf.Tensor3D) : h;
  }

  /**
   * The relative bias of one layer as [1, heads, T, T]: entry (i, j) is the head's learned bias for
   * the distance clip(j − i, ±window). A product with a constant one-hot map, not a gather: the wasm
   * backend has no kernel for gather's gradient.
   */
  private relativeBias(p: string, T: number, window: number): tf.Tensor {
    const width = 2 * window + 1;
    let onehot = this.distanceMaps.get(T);
    if (!onehot) {
      const m = new Float32Array(width * T * T);
      for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) m[(Math.max(-window, Math.min(window, j - i)) + window) * T * T + i * T + j] = 1;
      onehot = tf.keep(tf.tensor2d(m, [width, T * T]));
      this.distanceMaps.set(T, onehot);
    }
    const table = this.v(p);
    return tf.matMul(table, onehot).reshape([1, table.shape[0] as number, T, T]);
  }

  private layerNorm(x: tf.Tensor, p: string): tf.Tensor {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), this.v(`${p}.g`)), this.v(`${p}.b`));
  }

  /** One segment: features [B, T, D] (already normalised) and the state carried from the previous segment. */
  forward(x: tf.Tensor3D, state: Map<string, tf.Tensor>, o: ForwardOptions): ForwardResult {
    const c = this.config;
    const e = c.encoder;
    const newState = new Map<string, tf.Tensor>();
    const stack = (input: tf.Tensor3D, name: string, layers: number, task?: Task): tf.Tensor3D =>
      e.type === 'transformer' ? this.transformer(input, name, layers, !task, o) : this.recurrent(input, name, layers, state, newState, o);
    const shared = stack(x, 'shared', e.layers);
    const own = new Map(encoderStacks(c).map((s) => [s.task, s]));
    const outputs: Partial<Record<Task, tf.Tensor>> = {};
    const [B, T] = x.shape;
    for (const t of taskOrder(c)) {
      let g = shared;
      const s = own.get(t);
      if (s) {
        const parts: tf.Tensor[] = [shared];
        for (const src of feedbackSources(c, t)) {
          const out = detach(outputs[src] as tf.Tensor);
          let p: tf.Tensor = src === 'expression' ? tf.softmax(out) : src === 'au' ? tf.sigmoid(out) : out.reshape([B, T, 1]);
          const truth = o.training && (o.mixRate ?? 0) > 0 ? o.truth?.[src] : undefined;
          if (truth) {
            // a random fraction of the (validly labelled) time steps see the ground truth instead
            const draw = tf.less(tf.randomUniform([B, T, 1], 0, 1, 'float32', Math.floor((o.random?.() ?? Math.random()) * 2 ** 31)), o.mixRate as number);
            const validity = truth.valid.rank === 2 ? truth.valid.reshape([B, T, 1]) : truth.valid;
            const use = tf.mul(tf.cast(draw, 'float32'), validity);
            const value = truth.value.rank === 2 ? truth.value.reshape([B, T, 1]) : truth.value;
            p = tf.add(tf.mul(use, value), tf.mul(tf.sub(1, use), p));
          }
          parts.push(tf.matMul(p.reshape([B * T, TASK_DIMS[src]]), this.v(`fb.${t}.${src}.E`)).reshape([B, T, -1]));
        }
        g = stack(parts.length > 1 ? (tf.concat(parts, 2) as tf.Tensor3D) : shared, t, s.layers, t);
      }
      let h: tf.Tensor = this.dropout(g, c.heads.dropout, o);
      c.heads.hidden.forEach((_, i) => {
        h = this.dropout(tf.relu(this.linear(h, `head.${t}.l${i}`)), c.heads.dropout, o);
      });
      const y = this.linear(h, `head.${t}.out`);
      outputs[t] = TASK_DIMS[t] === 1 ? y.reshape([B, T]) : y;
    }
    return { outputs, state: newState };
  }
}
