/**
 * Converts a TFJS graph model into an ONNX model so every network of the pipeline runs in one
 * runtime (ONNX Runtime, on whatever execution provider the machine has).
 *
 * TF graphs are NHWC; ONNX convolutions are NCHW. Every 4-D tensor carries a layout tag and is
 * transposed only where an op needs the other layout (a Reshape, an output), so a chain of
 * convolutions runs without transposes in between. The ONNX model keeps the TF input layout (NHWC),
 * which is what interleaved RGB pixels already are.
 */
import { GraphBuilder, f, type Dim } from '../onnx/builder.js';
import { attrInts, attrString, attrStrings, type TfGraph, type TfNode, type TfWeight } from './tfjs-graph.js';

/**
 * Bump when the conversion rules change, so cached ONNX files are rebuilt.
 * 2: PRelu as 1×1 depthwise convolutions, Relu → Minimum → Maximum as one Clip (same values, 1.3–4× faster on the CPU).
 */
export const CONVERTER_VERSION = 2;

export interface OutputSpec {
  /** ONNX output name. */
  name: string;
  /** TF node whose (first) output becomes this ONNX output. */
  tensor: string;
  /** Spatial global-average pooling of a 4-D activation, giving [N, C]: how embeddings are taken from inner layers. */
  reduce?: 'mean-hw';
}

export interface ConvertOptions {
  graphName: string;
  outputs: OutputSpec[];
  docString?: string;
  metadata?: Record<string, string>;
}

type Layout = 'nchw' | 'nhwc' | 'plain';
interface Value {
  name: string;
  layout: Layout;
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

function transposeData(data: Float32Array | Int32Array, shape: number[], perm: number[]): { data: Float32Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const idx = new Array(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < perm.length; d++) src += idx[d] * inStrides[perm[d]];
    out[o] = data[src];
    for (let d = perm.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}

const baseName = (input: string): string => input.replace(/^\^/, '').replace(/:0$/, '');

export function convertTfjsGraph(graph: TfGraph, options: ConvertOptions): Uint8Array {
  const b = new GraphBuilder(options.graphName);
  const values = new Map<string, Value>();
  const nodeByName = new Map(graph.nodes.map((n) => [n.name, n]));

  const weightOf = (input: string): TfWeight | undefined => {
    const name = baseName(input);
    const node = nodeByName.get(name);
    if (node?.op === 'Const' || (!node && graph.weights.has(name))) {
      const w = graph.weights.get(name);
      if (!w) throw new Error(`constant ${name} has no weights in the manifest`);
      return w;
    }
    return undefined;
  };
  const valueOf = (input: string): Value => {
    const v = values.get(baseName(input));
    if (!v) throw new Error(`tensor ${input} used before it is defined`);
    return v;
  };
  const toLayout = (v: Value, want: 'nchw' | 'nhwc'): Value => {
    if (v.layout === want || v.layout === 'plain') return v;
    return { name: b.op('Transpose', [v.name], { perm: want === 'nchw' ? NHWC_TO_NCHW : NCHW_TO_NHWC }), layout: want };
  };
  const floatConst = (hint: string, w: TfWeight, shape = w.shape): string =>
    b.constant(hint, w.data instanceof Float32Array ? w.data : Float32Array.from(w.data), shape);

  /** A constant operand reshaped to broadcast against an NCHW activation the way it did against NHWC. */
  const constFor = (w: TfWeight, other: Value, hint: string): string => {
    const size = w.data.length;
    if (other.layout !== 'nchw' || size === 1) return floatConst(hint, w, size === 1 ? [] : w.shape);
    const r = w.shape.length;
    if (r === 1) return floatConst(hint, w, [w.shape[0], 1, 1]);
    if (r === 3) {
      const t = transposeData(w.data, w.shape, [2, 0, 1]);
      return b.constant(hint, t.data, t.shape);
    }
    if (r === 4) {
      const t = transposeData(w.data, w.shape, NHWC_TO_NCHW);
      return b.constant(hint, t.data, t.shape);
    }
    throw new Error(`constant ${w.name} of shape [${w.shape}] cannot broadcast against a 4-D activation`);
  };

  const activation = (x: string, kind: string, node: TfNode, extra?: string): string => {
    switch (kind) {
      case 'Relu':
        return b.op('Relu', [x]);
      case 'Relu6':
        return b.op('Clip', [x, b.constant('zero', new Float32Array([0]), []), b.constant('six', new Float32Array([6]), [])]);
      case 'Elu':
        return b.op('Elu', [x]);
      case 'Sigmoid':
        return b.op('Sigmoid', [x]);
      case 'LeakyRelu':
        return b.op('LeakyRelu', [x], { alpha: f(node.attr.leakyrelu_alpha?.f ?? 0.2) });
      case 'Prelu': {
        const w = extra ? weightOf(extra) : undefined;
        if (!w) throw new Error(`${node.name}: Prelu needs a constant alpha`);
        const slope = Float32Array.from(w.data);
        if (slope.length === 1) return b.op('LeakyRelu', [x], { alpha: f(slope[0]) });
        // PRelu(x) = Relu(x) − slope·Relu(−x), the products by −1 and −slope as 1×1 depthwise
        // convolutions: ONNX Runtime fuses these into its blocked-layout (NCHWc) convolution kernels,
        // while its PRelu is a generic broadcasting loop that also forces layout changes around it
        // (FaceMesh and the iris model ran 3–4× slower). The values are the same products.
        const C = slope.length;
        const depthwise = { group: C, kernel_shape: [1, 1] };
        const negated = b.op('Relu', [b.op('Conv', [x, b.constant(`${node.name}/minus_one`, new Float32Array(C).fill(-1), [C, 1, 1, 1])], depthwise)]);
        const scaled = b.op('Conv', [negated, b.constant(`${node.name}/minus_alpha`, slope.map((v) => -v), [C, 1, 1, 1])], depthwise);
        return b.op('Add', [scaled, b.op('Relu', [x])]);
      }
      default:
        throw new Error(`${node.name}: fused activation ${kind} is not supported by the converter`);
    }
  };

  const spatial = (node: TfNode): Record<string, number[] | string> => {
    const padding = attrString(node.attr.padding) ?? 'VALID';
    const strides = attrInts(node.attr.strides);
    const attrs: Record<string, number[] | string> = { strides: strides.length === 4 ? [strides[1], strides[2]] : [1, 1] };
    if (padding === 'SAME') attrs.auto_pad = 'SAME_UPPER'; // TF puts the odd padding pixel at the end, as SAME_UPPER does
    else if (padding === 'EXPLICIT') {
      const p = attrInts(node.attr.explicit_paddings); // NHWC (begin, end) pairs
      attrs.pads = [p[2], p[4], p[3], p[5]];
    } else attrs.pads = [0, 0, 0, 0];
    return attrs;
  };

  const convolution = (node: TfNode): Value => {
    const x = toLayout(valueOf(node.input[0]), 'nchw');
    const w = weightOf(node.input[1]);
    if (!w) throw new Error(`${node.name}: convolution filters must be constant`);
    const [kh, kw, cin, cout] = w.shape;
    const attrs: Record<string, number[] | string | number> = { ...spatial(node), kernel_shape: [kh, kw] };
    const dil = attrInts(node.attr.dilations);
    if (dil.length === 4) attrs.dilations = [dil[1], dil[2]];
    let weight: string;
    if (node.op === 'DepthwiseConv2dNative') {
      const t = transposeData(w.data, w.shape, [2, 3, 0, 1]); // [C, M, kh, kw]
      weight = b.constant(`${node.name}/weights`, t.data, [cin * cout, 1, kh, kw]);
      attrs.group = cin;
    } else {
      const t = transposeData(w.data, w.shape, [3, 2, 0, 1]); // OIHW
      weight = b.constant(`${node.name}/weights`, t.data, t.shape);
    }
    const fused = node.op === '_FusedConv2D' ? attrStrings(node.attr.fused_ops) : [];
    const inputs = [x.name, weight];
    let extraArg = 2;
    if (fused[0] === 'BiasAdd') {
      const bias = weightOf(node.input[2]);
      if (!bias) throw new Error(`${node.name}: bias must be constant`);
      inputs.push(floatConst(`${node.name}/bias`, bias));
      extraArg = 3;
    } else if (fused.length > 0) {
      throw new Error(`${node.name}: fused ops [${fused}] are not supported by the converter`);
    }
    let y = b.op('Conv', inputs, attrs);
    if (fused.length > 1) y = activation(y, fused[1], node, node.input[extraArg]);
    return { name: y, layout: 'nchw' };
  };

  const binary: Record<string, string> = { AddV2: 'Add', Add: 'Add', BiasAdd: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Minimum: 'Min', Maximum: 'Max' };
  const unary: Record<string, string> = { Relu: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Elu: 'Elu', Exp: 'Exp', Neg: 'Neg', Abs: 'Abs' };

  const scalarOf = (input: string): number | undefined => {
    const w = weightOf(input);
    return w && w.data.length === 1 ? w.data[0] : undefined;
  };
  const convertNode = (node: TfNode): Value | undefined => {
    const op = node.op;
    if (op === 'Const' || folded.has(node.name)) return undefined;
    const clip = clips.get(node.name);
    if (clip) {
      const v = valueOf(clip.input);
      const lo = b.constant(`${node.name}/min`, new Float32Array([0]), []);
      const hi = b.constant(`${node.name}/max`, new Float32Array([clip.hi]), []);
      return { name: b.op('Clip', [v.name, lo, hi]), layout: v.layout };
    }
    if (op === 'Placeholder') {
      const dims = (node.attr.shape?.shape?.dim ?? []).map((d) => Number(d.size));
      const shape: Dim[] = dims.map((d) => (d < 0 ? 'N' : d));
      const name = b.input('input', shape);
      return { name, layout: dims.length === 4 ? 'nhwc' : 'plain' };
    }
    if (op === 'Identity') return valueOf(node.input[0]);
    if (op === 'Conv2D' || op === '_FusedConv2D' || op === 'DepthwiseConv2dNative') return convolution(node);
    if (binary[op]) {
      const [ia, ib] = node.input;
      const wa = weightOf(ia);
      const wb = weightOf(ib);
      if (wa && wb) throw new Error(`${node.name}: both operands are constant`);
      if (wb || wa) {
        const v = valueOf(wb ? ia : ib);
        const c = constFor((wb ?? wa) as TfWeight, v, `${node.name}/const`);
        return { name: b.op(binary[op], wb ? [v.name, c] : [c, v.name]), layout: v.layout };
      }
      let a = valueOf(ia);
      let c = valueOf(ib);
      if (a.layout !== c.layout) {
        a = toLayout(a, 'nchw');
        c = toLayout(c, 'nchw');
      }
      return { name: b.op(binary[op], [a.name, c.name]), layout: a.layout === 'plain' ? c.layout : a.layout };
    }
    if (unary[op]) {
      const v = valueOf(node.input[0]);
      return { name: b.op(unary[op], [v.name]), layout: v.layout };
    }
    if (op === 'Relu6') {
      const v = valueOf(node.input[0]);
      return { name: activation(v.name, 'Relu6', node), layout: v.layout };
    }
    if (op === 'Prelu') {
      const v = toLayout(valueOf(node.input[0]), 'nchw');
      return { name: activation(v.name, 'Prelu', node, node.input[1]), layout: v.layout };
    }
    if (op === 'MaxPool' || op === 'AvgPool') {
      const v = toLayout(valueOf(node.input[0]), 'nchw');
      const k = attrInts(node.attr.ksize);
      const name = b.op(op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [v.name], { ...spatial(node), kernel_shape: [k[1], k[2]] });
      return { name, layout: 'nchw' };
    }
    if (op === 'Pad' || op === 'PadV2') {
      const v = valueOf(node.input[0]);
      const p = weightOf(node.input[1]);
      if (!p) throw new Error(`${node.name}: paddings must be constant`);
      const rank = p.shape[0];
      const perm = v.layout === 'nchw' ? NHWC_TO_NCHW : [...Array(rank).keys()];
      const begins = perm.map((d) => p.data[2 * d]);
      const ends = perm.map((d) => p.data[2 * d + 1]);
      const inputs = [v.name, b.ints(`${node.name}/pads`, [...begins, ...ends])];
      if (op === 'PadV2') {
        const cv = weightOf(node.input[2]);
        if (cv) inputs.push(b.constant(`${node.name}/value`, new Float32Array([cv.data[0]]), []));
      }
      return { name: b.op('Pad', inputs, { mode: 'constant' }), layout: v.layout };
    }
    if (op === 'Reshape') {
      const v = toLayout(valueOf(node.input[0]), 'nhwc');
      const s = weightOf(node.input[1]);
      if (!s) throw new Error(`${node.name}: target shape must be constant`);
      const shape = Array.from(s.data);
      return { name: b.op('Reshape', [v.name, b.ints(`${node.name}/shape`, shape)]), layout: shape.length === 4 ? 'nhwc' : 'plain' };
    }
    if (op === 'Mean' || op === 'Max' || op === 'Sum') {
      const v = valueOf(node.input[0]);
      const axesW = weightOf(node.input[1]);
      if (!axesW) throw new Error(`${node.name}: reduction axes must be constant`);
      const keep = node.attr.keep_dims?.b ?? false;
      const axes = Array.from(axesW.data).map((a) => (a < 0 ? a + 4 : a));
      const onnxOp = { Mean: 'ReduceMean', Max: 'ReduceMax', Sum: 'ReduceSum' }[op];
      const isSpatial = axes.length === 2 && axes.includes(1) && axes.includes(2);
      if (v.layout === 'nchw' && (keep || isSpatial)) {
        // nhwc axis a is nchw axis NHWC_TO_NCHW.indexOf(a)
        const mapped = axes.map((a) => NHWC_TO_NCHW.indexOf(a));
        return { name: b.op(onnxOp, [v.name], { axes: mapped, keepdims: keep ? 1 : 0 }), layout: keep ? 'nchw' : 'plain' };
      }
      const u = toLayout(v, 'nhwc');
      return { name: b.op(onnxOp, [u.name], { axes, keepdims: keep ? 1 : 0 }), layout: keep ? u.layout : 'plain' };
    }
    if (op === 'ConcatV2') {
      // inputs: the N tensors, then the axis (a constant, in the TF layout)
      const n = node.input.length - 1;
      const axisW = weightOf(node.input[n]);
      if (!axisW) throw new Error(`${node.name}: concatenation axis must be constant`);
      const parts = node.input.slice(0, n).map((i) => {
        const w = weightOf(i);
        if (w) throw new Error(`${node.name}: concatenating constants is not supported`);
        return valueOf(i);
      });
      const fourD = parts.filter((v) => v.layout !== 'plain').length;
      if (fourD && fourD < parts.length) throw new Error(`${node.name}: concatenating 4-D and other tensors is not supported`);
      if (!fourD) return { name: b.op('Concat', parts.map((v) => v.name), { axis: axisW.data[0] }), layout: 'plain' };
      const axis = axisW.data[0] < 0 ? axisW.data[0] + 4 : axisW.data[0];
      const inputs = parts.map((v) => toLayout(v, 'nchw').name);
      return { name: b.op('Concat', inputs, { axis: NHWC_TO_NCHW.indexOf(axis) }), layout: 'nchw' };
    }
    if (op === 'Softmax') {
      const v = toLayout(valueOf(node.input[0]), 'nhwc');
      return { name: b.op('Softmax', [v.name], { axis: -1 }), layout: v.layout };
    }
    if (op === 'MatMul' || op === '_FusedMatMul') {
      const a = valueOf(node.input[0]);
      if (a.layout !== 'plain') throw new Error(`${node.name}: MatMul on a 4-D tensor is not supported`);
      const w = weightOf(node.input[1]);
      const transA = node.attr.transpose_a?.b ? 1 : 0;
      const transB = node.attr.transpose_b?.b ? 1 : 0;
      const fused = op === '_FusedMatMul' ? attrStrings(node.attr.fused_ops) : [];
      let y: string;
      if (w) {
        const inputs = [a.name, floatConst(`${node.name}/weights`, w)];
        if (fused[0] === 'BiasAdd') {
          const bias = weightOf(node.input[2]);
          if (!bias) throw new Error(`${node.name}: bias must be constant`);
          inputs.push(floatConst(`${node.name}/bias`, bias));
        } else if (fused.length > 0) throw new Error(`${node.name}: fused ops [${fused}] are not supported`);
        y = b.op('Gemm', inputs, { transA, transB });
      } else {
        if (transA || transB || fused.length > 0) throw new Error(`${node.name}: MatMul of two activations with transposes or fused ops is not supported`);
        y = b.op('MatMul', [a.name, valueOf(node.input[1]).name]);
      }
      if (fused.length > 1) y = activation(y, fused[1], node, node.input[3]);
      return { name: y, layout: 'plain' };
    }
    throw new Error(`TF op ${op} (node ${node.name}) is not supported by the converter`);
  };

  // Convert only what the requested outputs need (e.g. faceres without its age/gender heads).
  const needed = new Set<string>();
  const stack = options.outputs.map((o) => o.tensor);
  while (stack.length) {
    const name = baseName(stack.pop() as string);
    if (needed.has(name)) continue;
    const node = nodeByName.get(name);
    if (!node) throw new Error(`output tensor ${name} is not in the graph`);
    needed.add(name);
    for (const i of node.input) if (!i.startsWith('^')) stack.push(i);
  }
  // Relu → Minimum(hi) → Maximum(lo ≤ 0) (a ReLU6 written out, as in FaceRes) is Clip(0, hi): one
  // op, which ONNX Runtime fuses into the convolution before it instead of changing layout around it
  const consumers = new Map<string, number>();
  for (const node of graph.nodes) if (needed.has(node.name)) for (const i of node.input) consumers.set(baseName(i), (consumers.get(baseName(i)) ?? 0) + 1);
  const clips = new Map<string, { input: string; hi: number }>();
  const folded = new Set<string>();
  const outputs = new Set(options.outputs.map((o) => baseName(o.tensor)));
  for (const max of graph.nodes) {
    if (max.op !== 'Maximum' || !needed.has(max.name)) continue;
    const minIndex = max.input.findIndex((i) => nodeByName.get(baseName(i))?.op === 'Minimum');
    const lo = scalarOf(max.input[1 - minIndex]);
    const min = minIndex >= 0 ? nodeByName.get(baseName(max.input[minIndex])) : undefined;
    if (!min || lo === undefined || lo > 0) continue;
    const reluIndex = min.input.findIndex((i) => nodeByName.get(baseName(i))?.op === 'Relu');
    const hi = scalarOf(min.input[1 - reluIndex]);
    const relu = reluIndex >= 0 ? nodeByName.get(baseName(min.input[reluIndex])) : undefined;
    if (!relu || hi === undefined || hi < 0) continue;
    if (consumers.get(min.name) !== 1 || consumers.get(relu.name) !== 1 || outputs.has(min.name) || outputs.has(relu.name)) continue;
    clips.set(max.name, { input: relu.input[0], hi });
    folded.add(min.name).add(relu.name);
  }
  for (const node of graph.nodes) {
    if (!needed.has(node.name)) continue;
    const v = convertNode(node);
    if (v) values.set(node.name, v);
  }
  for (const out of options.outputs) {
    const v = valueOf(out.tensor);
    if (out.reduce === 'mean-hw') {
      const c = toLayout(v, 'nchw');
      b.expose(b.op('ReduceMean', [c.name], { axes: [2, 3], keepdims: 0 }), out.name);
    } else {
      b.expose(toLayout(v, 'nhwc').name, out.name);
    }
  }
  return b.build({ producer: 'affect-studio tfjs-to-onnx', docString: options.docString, metadata: options.metadata });
}
