/**
 * int8 quantisation of the converted face models, in ONNX's QDQ form: every convolution gets its
 * weights as int8 (symmetric, one scale per output channel), its bias as int32, and its input and
 * output activations passed through QuantizeLinear → DequantizeLinear with uint8 ranges measured on
 * real face crops (calibration). ONNX Runtime's graph optimiser fuses each DQ → Conv → Q group into
 * one QLinearConv, which runs on the CPU's integer dot-product instructions (VNNI) where it has them;
 * ops between convolutions (PRelu, Add, pooling) stay in float.
 *
 * uint8 activations with int8 weights is the combination ONNX Runtime's x86 kernels are built for.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Bump when the quantisation rules change, so cached int8 files are rebuilt. */
export const QUANTIZER_VERSION = 1;
type Model = onnxProto.onnx.ModelProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;
const DT = onnx.TensorProto.DataType;

/** Observed value range of one activation tensor. */
export interface TensorRange {
  min: number;
  max: number;
}

const decode = (bytes: Uint8Array): Model => onnx.ModelProto.decode(bytes);
const encode = (model: Model): Uint8Array => onnx.ModelProto.encode(model).finish();

function floatData(t: Tensor): Float32Array {
  if (t.dataType !== DT.FLOAT) throw new Error(`initializer ${t.name} is not float32`);
  if (t.rawData && t.rawData.length) {
    const raw = t.rawData;
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    return new Float32Array(copy.buffer);
  }
  return Float32Array.from(t.floatData ?? []);
}

const dims = (t: Tensor): number[] => (t.dims ?? []).map(Number);

function rawTensor(name: string, dataType: number, shape: number[], data: Int8Array | Uint8Array | Int32Array | Float32Array): Tensor {
  return { name, dataType, dims: shape, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

/**
 * Where each convolution's output is quantised: after the Relu or Clip that alone follows it (ONNX
 * Runtime then drops the activation: the uint8 range starting at zero clips as it did), else at the
 * convolution itself.
 */
function quantisationPoints(graph: onnxProto.onnx.IGraphProto): Map<string, string> {
  const consumers = new Map<string, Node[]>();
  for (const n of graph.node ?? []) for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  const points = new Map<string, string>();
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Conv') continue;
    const y = (n.output as string[])[0];
    const next = consumers.get(y) ?? [];
    const act = next.length === 1 && !outputs.has(y) && (next[0].opType === 'Relu' || next[0].opType === 'Clip') ? next[0] : undefined;
    points.set(y, act ? (act.output as string[])[0] : y);
  }
  return points;
}

/** The activations a QDQ model needs ranges for: every convolution's input and its quantised output. */
export function calibrationTensors(bytes: Uint8Array): string[] {
  const model = foldAffine(decode(bytes));
  const graph = model.graph as onnxProto.onnx.GraphProto;
  const inits = new Set(graph.initializer.map((t) => t.name as string));
  const points = quantisationPoints(graph);
  const names = new Set<string>();
  for (const n of graph.node) {
    if (n.opType !== 'Conv') continue;
    const x = (n.input ?? [])[0];
    if (x && !inits.has(x)) names.add(points.get(x) === x || !points.has(x) ? x : (points.get(x) as string));
    names.add(points.get((n.output as string[])[0]) as string);
  }
  return [...names];
}

/**
 * Folds a per-channel Mul and Add that follow a convolution (a batch normalisation and a bias, as
 * TF graphs often carry them) into its weights and bias, so that quantisation sees one convolution.
 */
function foldAffine(model: Model): Model {
  const graph = model.graph as onnxProto.onnx.GraphProto;
  const inits = new Map(graph.initializer.map((t) => [t.name as string, t]));
  const outputs = new Set(graph.output.map((o) => o.name));
  const consumers = (name: string): Node[] => graph.node.filter((n) => (n.input ?? []).includes(name));
  const channelConst = (name: string, channels: number): Float32Array | undefined => {
    const t = inits.get(name);
    if (!t || t.dataType !== DT.FLOAT) return undefined;
    const d = floatData(t);
    const shape = dims(t);
    if (d.length === 1) return new Float32Array(channels).fill(d[0]);
    return d.length === channels && shape.slice(-2).every((x) => x === 1) ? d : undefined;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const conv of graph.node) {
      if (conv.opType !== 'Conv') continue;
      const weight = inits.get((conv.input as string[])[1]);
      if (!weight) continue;
      const y = (conv.output as string[])[0];
      const next = consumers(y);
      if (next.length !== 1 || outputs.has(y) || (next[0].opType !== 'Mul' && next[0].opType !== 'Add')) continue;
      const op = next[0];
      const other = (op.input as string[]).find((i) => i !== y) as string;
      const channels = dims(weight)[0];
      const c = channelConst(other, channels);
      if (!c) continue;
      const w = floatData(weight);
      const bName = (conv.input as string[])[2];
      const b = bName ? floatData(inits.get(bName) as Tensor) : new Float32Array(channels);
      const per = w.length / channels;
      if (op.opType === 'Mul') {
        for (let k = 0; k < channels; k++) {
          for (let i = 0; i < per; i++) w[k * per + i] *= c[k];
          b[k] *= c[k];
        }
      } else for (let k = 0; k < channels; k++) b[k] += c[k];
      const wName = `${y}/folded_weight`;
      const newB = `${y}/folded_bias`;
      const wt = rawTensor(wName, DT.FLOAT, dims(weight), w);
      const bt = rawTensor(newB, DT.FLOAT, [channels], b);
      graph.initializer.push(wt, bt);
      inits.set(wName, wt);
      inits.set(newB, bt);
      conv.input = [(conv.input as string[])[0], wName, newB];
      conv.output = op.output;
      graph.node = graph.node.filter((n) => n !== op);
      changed = true;
      break;
    }
  }
  const used = new Set(graph.node.flatMap((n) => n.input ?? []));
  graph.initializer = graph.initializer.filter((t) => used.has(t.name as string));
  return model;
}

/** The same model with `tensors` exposed as extra float outputs (to record their ranges). */
export function withExtraOutputs(bytes: Uint8Array, tensors: string[]): Uint8Array {
  const model = foldAffine(decode(bytes));
  const graph = model.graph as onnxProto.onnx.GraphProto;
  const existing = new Set(graph.output.map((o) => o.name));
  for (const name of tensors) {
    if (existing.has(name)) continue;
    graph.output.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DT.FLOAT } } }));
  }
  return encode(model);
}

/** uint8 affine parameters covering [min, max] and zero (ONNX requires zero to be exact). */
export function activationParams(r: TensorRange): { scale: number; zeroPoint: number } {
  const lo = Math.min(0, r.min);
  const hi = Math.max(0, r.max);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.max(0, Math.min(255, Math.round(-lo / scale)));
  return { scale: Math.fround(scale), zeroPoint };
}

/**
 * The QDQ int8 version of a float model. `ranges` must cover calibrationTensors(model).
 * Deterministic: the same model and ranges give the same bytes.
 */
export function quantizeQdq(bytes: Uint8Array, ranges: Record<string, TensorRange>): Uint8Array {
  const model = foldAffine(decode(bytes));
  const graph = model.graph as onnxProto.onnx.GraphProto;
  const points = quantisationPoints(graph);
  const inits = new Map(graph.initializer.map((t) => [t.name as string, t]));
  const newInits: Tensor[] = [];
  const nodes: Node[] = [];
  let counter = 0;
  const fresh = (hint: string): string => `${hint}__q${counter++}`;
  /** float tensor → its dequantised copy (one Q/DQ pair per tensor, shared by its consumers). */
  const dequantised = new Map<string, string>();
  const params = (name: string) => {
    const r = ranges[name];
    if (!r) throw new Error(`no calibration range for tensor ${name}`);
    return activationParams(r);
  };
  const scalarParams = (name: string) => {
    const p = params(name);
    const scale = fresh(`${name}/scale`);
    const zp = fresh(`${name}/zero_point`);
    newInits.push(rawTensor(scale, DT.FLOAT, [], Float32Array.of(p.scale)), rawTensor(zp, DT.UINT8, [], Uint8Array.of(p.zeroPoint)));
    return { scale, zp, p };
  };
  const qdq = (name: string): string => {
    const have = dequantised.get(name);
    if (have) return have;
    const { scale, zp } = scalarParams(name);
    const q = fresh(`${name}/quantized`);
    const dq = fresh(`${name}/dequantized`);
    nodes.push({ opType: 'QuantizeLinear', name: fresh('Q'), input: [name, scale, zp], output: [q] });
    nodes.push({ opType: 'DequantizeLinear', name: fresh('DQ'), input: [q, scale, zp], output: [dq] });
    dequantised.set(name, dq);
    return dq;
  };

  // A quantised tensor keeps its name: its producer writes `<name>/float`, then Q → DQ give back
  // `<name>` (a convolution's output, or that of the activation right after it).
  const requantise = (producer: Node): void => {
    const y = (producer.output as string[])[0];
    const yFloat = fresh(`${y}/float`);
    nodes.push({ ...producer, output: [yFloat] });
    const { scale, zp } = scalarParams(y);
    const q = fresh(`${y}/quantized`);
    nodes.push({ opType: 'QuantizeLinear', name: fresh('Q'), input: [yFloat, scale, zp], output: [q] });
    nodes.push({ opType: 'DequantizeLinear', name: fresh('DQ'), input: [q, scale, zp], output: [y] });
    // a later convolution reading it takes the DQ output as it is: the same Q/DQ pair, not a second one
    dequantised.set(y, y);
  };
  const quantisedAt = new Set(points.values());
  for (const node of graph.node) {
    const out = (node.output ?? [])[0];
    if (node.opType !== 'Conv') {
      if (quantisedAt.has(out) && !points.has(out)) requantise(node);
      else nodes.push(node);
      continue;
    }
    const [x, w, b] = node.input as string[];
    const weight = inits.get(w);
    if (!weight) {
      nodes.push(node);
      continue;
    }
    const xDq = inits.has(x) ? x : qdq(x);
    const wShape = dims(weight);
    const wData = floatData(weight);
    const channels = wShape[0];
    const per = wData.length / channels;
    const wScale = new Float32Array(channels);
    const wq = new Int8Array(wData.length);
    for (let c = 0; c < channels; c++) {
      let m = 0;
      for (let i = 0; i < per; i++) m = Math.max(m, Math.abs(wData[c * per + i]));
      const sc = Math.fround(m > 0 ? m / 127 : 1);
      wScale[c] = sc;
      for (let i = 0; i < per; i++) wq[c * per + i] = Math.max(-127, Math.min(127, Math.round(wData[c * per + i] / sc)));
    }
    const wqName = fresh(`${w}/int8`);
    const wScaleName = fresh(`${w}/scale`);
    const wZpName = fresh(`${w}/zero_point`);
    newInits.push(rawTensor(wqName, DT.INT8, wShape, wq), rawTensor(wScaleName, DT.FLOAT, [channels], wScale), rawTensor(wZpName, DT.INT8, [channels], new Int8Array(channels)));
    const wDq = fresh(`${w}/dequantized`);
    nodes.push({ opType: 'DequantizeLinear', name: fresh('DQ'), input: [wqName, wScaleName, wZpName], output: [wDq], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] });
    const inputs = [xDq, wDq];
    if (b) {
      const bias = inits.get(b);
      if (!bias) throw new Error(`${node.name}: bias ${b} is not constant`);
      const bData = floatData(bias);
      const xScale = inits.has(x) ? 1 : params(x).scale;
      const bScale = new Float32Array(channels);
      const bq = new Int32Array(channels);
      for (let c = 0; c < channels; c++) {
        bScale[c] = Math.fround(xScale * wScale[c]);
        bq[c] = Math.round(bData[c] / bScale[c]);
      }
      const bqName = fresh(`${b}/int32`);
      const bScaleName = fresh(`${b}/scale`);
      const bZpName = fresh(`${b}/zero_point`);
      newInits.push(rawTensor(bqName, DT.INT32, [channels], bq), rawTensor(bScaleName, DT.FLOAT, [channels], bScale), rawTensor(bZpName, DT.INT32, [channels], new Int32Array(channels)));
      const bDq = fresh(`${b}/dequantized`);
      nodes.push({ opType: 'DequantizeLinear', name: fresh('DQ'), input: [bqName, bScaleName, bZpName], output: [bDq], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] });
      inputs.push(bDq);
    }
    const conv = { ...node, input: inputs };
    if (points.get(out) === out) requantise(conv);
    else nodes.push(conv);
  }
  const usedInits = new Set(nodes.flatMap((n) => n.input ?? []));
  graph.node = nodes;
  graph.initializer = [...graph.initializer.filter((t) => usedInits.has(t.name as string)), ...newInits];
  return encode(model);
}
