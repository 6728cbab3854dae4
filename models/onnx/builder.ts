/**
 * A thin builder over the ONNX protobuf schema, shared by the TFJS→ONNX converter and the temporal
 * model graph builder, so that every ONNX file this project writes is assembled the same way.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX opset every graph in this project targets (LayerNormalization needs ≥ 17). */
export const ONNX_OPSET = 17;
const IR_VERSION = 8;

export type Dim = number | string;
export type ElemType = 'float32' | 'int64' | 'int32' | 'bool';

const ELEM_TYPE: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** Marks a number attribute as float (plain numbers become INT attributes when they are integers). */
export class FloatAttr {
  constructor(readonly value: number) {}
}
export const f = (value: number): FloatAttr => new FloatAttr(value);

export type AttrValue = number | FloatAttr | string | number[] | FloatAttr[] | string[];

function valueInfo(name: string, type: ElemType, shape?: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE[type],
        shape: shape ? { dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } : undefined,
      },
    },
  };
}

function attribute(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (value instanceof FloatAttr) return { name, type: T.FLOAT, f: value.value };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer; wrap floats with f()`);
    return { name, type: T.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (value.length > 0 && value[0] instanceof FloatAttr) {
    return { name, type: T.FLOATS, floats: (value as FloatAttr[]).map((v) => v.value) };
  }
  if (value.length > 0 && typeof value[0] === 'string') {
    return { name, type: T.STRINGS, strings: (value as string[]).map((s) => new TextEncoder().encode(s)) };
  }
  return { name, type: T.INTS, ints: value as number[] };
}

export type TensorData = Float32Array | Int32Array | BigInt64Array;

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh tensor name derived from `hint`, unique in this graph. */
  fresh(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  input(name: string, shape: Dim[], type: ElemType = 'float32'): string {
    this.used.add(name);
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  output(name: string, shape?: Dim[], type: ElemType = 'float32'): void {
    this.outputs.push(valueInfo(name, type, shape));
  }

  /** Adds a constant tensor; float data is stored raw (little-endian), which is compact and fast to load. */
  constant(hint: string, data: TensorData, dims: number[]): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`constant ${hint}: ${data.length} values for dims [${dims}]`);
    const name = this.fresh(hint);
    const type: ElemType = data instanceof Float32Array ? 'float32' : data instanceof Int32Array ? 'int32' : 'int64';
    this.initializers.push({
      name,
      dims,
      dataType: ELEM_TYPE[type],
      rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
    });
    return name;
  }

  /** int64 constant from plain numbers (shapes, axes, pads). */
  ints(hint: string, values: number[]): string {
    return this.constant(hint, BigInt64Array.from(values.map((v) => BigInt(v))), [values.length]);
  }

  /** Adds a node with one output and returns that output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputHint?: string): string {
    return this.opN(opType, inputs, 1, attrs, outputHint)[0];
  }

  /** Adds a node with `count` outputs; an empty input name means an omitted optional input. */
  opN(opType: string, inputs: string[], count: number, attrs: Record<string, AttrValue> = {}, outputHint?: string): string[] {
    const outs = Array.from({ length: count }, (_, i) => this.fresh(`${outputHint ?? opType.toLowerCase()}${count > 1 ? `_${i}` : ''}`));
    this.nodes.push({
      opType,
      name: this.fresh(`node_${opType}`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Names a tensor as a graph output through an Identity node. */
  expose(tensor: string, outputName: string, shape?: Dim[]): void {
    this.used.add(outputName);
    this.nodes.push({ opType: 'Identity', name: this.fresh('node_Identity'), input: [tensor], output: [outputName] });
    this.output(outputName, shape);
  }

  build(meta: { producer: string; docString?: string; metadata?: Record<string, string> }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: meta.producer,
      docString: meta.docString,
      metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
