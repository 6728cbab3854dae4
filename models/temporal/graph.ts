/**
 * Builds the ONNX graph of a temporal multi-task model from its configuration and weights.
 *
 * Contract of every temporal graph (the runtime relies on it):
 * - input `features` [batch, time, inputDim];
 * - for recurrent encoders, inputs `state_in.<name>` [layers, batch, hidden] and outputs
 *   `state_out.<name>`: the final state of a segment, fed to the next segment of the same sequence;
 * - outputs `valence`, `arousal` [batch, time] (raw), `expression` [batch, time, 8] and
 *   `au` [batch, time, 12] (logits), for the tasks the model has.
 * Dropout is a training-time operation and is absent here.
 */
import { GraphBuilder, f } from '../onnx/builder.js';
import { TASK_DIMS, type Task } from '../../common/labels.js';
import { encoderStacks, feedbackSources, stateSpecs, taskOrder, type TemporalConfig } from './config.js';
import { checkWeights, paramSpecs, stackInputDim, type Weights } from './params.js';

export interface GraphOptions {
  /** Feature normalisation baked into the graph: x ← (x − mean) / std. */
  normalization?: { mean: Float32Array; std: Float32Array };
  name?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

/** Sinusoidal positions (Vaswani et al.): PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(…). */
export function sinusoidalPositions(length: number, d: number): Float32Array {
  const pe = new Float32Array(length * d);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < d; i += 2) {
      const angle = p / 10000 ** (i / d);
      pe[p * d + i] = Math.sin(angle);
      if (i + 1 < d) pe[p * d + i + 1] = Math.cos(angle);
    }
  }
  return pe;
}

/** For every pair of frames (i, j) of a segment: clip(j − i, ±window) + window, row-major [length, length]. */
export function distanceIndex(length: number, window: number): Int32Array {
  const idx = new Int32Array(length * length);
  for (let i = 0; i < length; i++) for (let j = 0; j < length; j++) idx[i * length + j] = Math.max(-window, Math.min(window, j - i)) + window;
  return idx;
}

export function buildTemporalGraph(config: TemporalConfig, weights: Weights, options: GraphOptions = {}): Uint8Array {
  checkWeights(config, weights);
  const shapes = new Map(paramSpecs(config).map((s) => [s.name, s.shape]));
  const b = new GraphBuilder(options.name ?? 'temporal');
  const W = (name: string, shape = shapes.get(name) as number[]): string => b.constant(name, weights.get(name) as Float32Array, shape);
  const linear = (x: string, p: string): string => b.op('Add', [b.op('MatMul', [x, W(`${p}.W`)]), W(`${p}.b`)]);

  let x = b.input('features', ['batch', 'time', config.inputDim]);
  if (options.normalization) {
    const { mean, std } = options.normalization;
    if (mean.length !== config.inputDim || std.length !== config.inputDim) throw new Error('normalization must have inputDim values');
    x = b.op('Div', [b.op('Sub', [x, b.constant('norm.mean', mean, [config.inputDim])]), b.constant('norm.std', std, [config.inputDim])]);
  }
  const stateIn = new Map<string, string>();
  for (const s of stateSpecs(config)) stateIn.set(s.name, b.input(`state_in.${s.name}`, s.dims.map((d) => (d === 'batch' ? 'batch' : d))));
  const stateOut = new Map<string, string>();

  const e = config.encoder;
  // made on first use, so a graph holds no unused initializer (ONNX Runtime warns about those)
  const made = new Map<number, string>();
  const axis = (k: number): string => made.get(k) ?? (made.set(k, b.ints(`axis${k}`, [k])), made.get(k) as string);

  const recurrentStack = (input: string, name: string, layers: number, inDim: number): string => {
    const lstm = e.type === 'lstm';
    const H = (e as { hidden: number }).hidden;
    const g = lstm ? 4 : 3;
    let seq = b.op('Transpose', [input], { perm: [1, 0, 2] }); // ONNX RNNs run time-major here (layout 0)
    const finals: string[] = [];
    const cells: string[] = [];
    let dim = inDim;
    for (let l = 0; l < layers; l++) {
      const p = `enc.${name}.l${l}`;
      const slice = (state: string) => b.op('Slice', [state, b.ints('s', [l]), b.ints('e', [l + 1]), axis(0)]);
      const h0 = slice(stateIn.get(lstm ? `${name}.h` : name) as string);
      const inputs = [seq, W(`${p}.W`, [1, g * H, dim]), W(`${p}.R`, [1, g * H, H]), W(`${p}.B`, [1, 2 * g * H]), '', h0];
      if (lstm) inputs.push(slice(stateIn.get(`${name}.c`) as string));
      const outs = b.opN(lstm ? 'LSTM' : 'GRU', inputs, lstm ? 3 : 2, lstm ? { hidden_size: H } : { hidden_size: H, linear_before_reset: 1 });
      seq = b.op('Squeeze', [outs[0], axis(1)]); // [T, 1, B, H] → [T, B, H]
      finals.push(outs[1]);
      if (lstm) cells.push(outs[2]);
      dim = H;
    }
    const concat = (parts: string[]) => (parts.length === 1 ? parts[0] : b.op('Concat', parts, { axis: 0 }));
    stateOut.set(lstm ? `${name}.h` : name, concat(finals));
    if (lstm) stateOut.set(`${name}.c`, concat(cells));
    return b.op('Transpose', [seq], { perm: [1, 0, 2] });
  };

  let distanceTable: string | undefined;
  const transformerStack = (input: string, name: string, layers: number, positions: boolean): string => {
    if (e.type !== 'transformer') throw new Error('unreachable');
    const d = e.dModel;
    const dh = d / e.heads;
    if (!Number.isInteger(dh)) throw new Error(`transformer width ${d} is not divisible by ${e.heads} heads`);
    let h = linear(input, `enc.${name}.in`);
    const usePositions = positions && e.positions === 'sinusoidal';
    const T = usePositions || e.relativeBias > 0 ? b.op('Slice', [b.op('Shape', [h]), axis(1), axis(2)]) : ''; // [time]
    if (usePositions) {
      const table = b.constant('positions', sinusoidalPositions(config.segmentLength, d), [config.segmentLength, d]);
      h = b.op('Add', [h, b.op('Slice', [table, b.ints('zero', [0]), T, axis(0)])]);
    }
    // the clipped distance j − i of every pair of frames, as an index into each layer's bias table
    if (e.relativeBias > 0) distanceTable ??= b.constant('relDistance', distanceIndex(config.segmentLength, e.relativeBias), [config.segmentLength, config.segmentLength]);
    const distances = distanceTable ? b.op('Slice', [distanceTable, b.ints('zero2', [0, 0]), b.op('Concat', [T, T], { axis: 0 }), b.ints('axes01', [0, 1])]) : '';
    const pre = e.norm === 'pre';
    const norm = (x: string, p: string) => b.op('LayerNormalization', [x, W(`${p}.g`), W(`${p}.b`)], { axis: -1, epsilon: f(1e-5) });
    const splitHeads = b.ints('split', [0, 0, e.heads, dh]);
    const mergeHeads = b.ints('merge', [0, 0, d]);
    const scale = b.constant('scale', new Float32Array([1 / Math.sqrt(dh)]), []);
    for (let l = 0; l < layers; l++) {
      const p = `enc.${name}.l${l}`;
      const a = pre ? norm(h, `${p}.ln1`) : h;
      const proj = (m: string) => b.op('Transpose', [b.op('Reshape', [b.op('Add', [b.op('MatMul', [a, W(`${p}.W${m}`)]), W(`${p}.b${m}`)]), splitHeads])], { perm: [0, 2, 1, 3] });
      const q = proj('q');
      const k = proj('k');
      const v = proj('v');
      let scores = b.op('Mul', [b.op('MatMul', [q, b.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), scale]);
      if (e.relativeBias > 0) scores = b.op('Add', [scores, b.op('Gather', [W(`${p}.relBias`), distances], { axis: 1 })]); // [heads, T, T]
      const ctx = b.op('MatMul', [b.op('Softmax', [scores], { axis: -1 }), v]);
      const merged = b.op('Reshape', [b.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), mergeHeads]);
      const attn = b.op('Add', [b.op('MatMul', [merged, W(`${p}.Wo`)]), W(`${p}.bo`)]);
      h = b.op('Add', [h, attn]);
      if (!pre) h = norm(h, `${p}.ln1`);
      const ffIn = pre ? norm(h, `${p}.ln2`) : h;
      const ffn = b.op('Add', [b.op('MatMul', [b.op('Relu', [b.op('Add', [b.op('MatMul', [ffIn, W(`${p}.W1`)]), W(`${p}.b1`)])]), W(`${p}.W2`)]), W(`${p}.b2`)]);
      h = b.op('Add', [h, ffn]);
      if (!pre) h = norm(h, `${p}.ln2`);
    }
    return pre ? norm(h, `enc.${name}.lnf`) : h;
  };

  const stack = (input: string, name: string, layers: number, task?: Task): string =>
    e.type === 'transformer' ? transformerStack(input, name, layers, !task) : recurrentStack(input, name, layers, stackInputDim(config, task));

  const shared = stack(x, 'shared', config.encoder.layers);
  const stacks = new Map(encoderStacks(config).map((s) => [s.task, s]));
  const outputs = new Map<Task, string>();
  for (const t of taskOrder(config)) {
    let g = shared;
    const own = stacks.get(t);
    if (own) {
      const parts = [shared];
      for (const s of feedbackSources(config, t)) {
        // the source task's output as a probability-weighted sum of learned vectors
        const src = outputs.get(s) as string;
        const weightsOf = s === 'expression' ? b.op('Softmax', [src], { axis: -1 }) : s === 'au' ? b.op('Sigmoid', [src]) : src;
        parts.push(b.op('MatMul', [weightsOf, W(`fb.${t}.${s}.E`)]));
      }
      g = stack(parts.length > 1 ? b.op('Concat', parts, { axis: -1 }) : shared, t, own.layers, t);
    }
    let h = g;
    config.heads.hidden.forEach((_, i) => {
      h = b.op('Relu', [linear(h, `head.${t}.l${i}`)]);
    });
    outputs.set(t, linear(h, `head.${t}.out`));
  }
  for (const t of config.tasks) {
    const out = outputs.get(t) as string;
    if (TASK_DIMS[t] === 1) b.expose(b.op('Squeeze', [out, axis(2)]), t, ['batch', 'time']);
    else b.expose(out, t, ['batch', 'time', TASK_DIMS[t]]);
  }
  for (const s of stateSpecs(config)) b.expose(stateOut.get(s.name) as string, `state_out.${s.name}`, s.dims.map((d) => (d === 'batch' ? 'batch' : d)));
  return b.build({ producer: 'affect-studio temporal', docString: options.docString, metadata: options.metadata });
}
