/**
 * Reads a TensorFlow.js graph model (model.json + weight shards) into plain data: the TF GraphDef
 * nodes and the decoded weight tensors. No tfjs needed: conversion runs wherever Node runs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface TfNode {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, TfAttr>;
}

export interface TfAttr {
  s?: string; // base64
  i?: string;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { i?: string[]; s?: string[]; f?: number[] };
  shape?: { dim?: { size: string }[] };
}

export interface TfWeight {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface TfGraph {
  nodes: TfNode[];
  weights: Map<string, TfWeight>;
  /** sha256-free identity of the source, for cache keys: the raw model.json text and weight bytes length. */
  sourceFiles: string[];
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

/** IEEE 754 half → single precision. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function decodeWeight(spec: WeightSpec, bytes: Buffer, offset: number): { weight: TfWeight; byteLength: number } {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization;
  if (!q) {
    const byteLength = count * 4;
    const slice = bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + byteLength);
    if (spec.dtype === 'float32') return { weight: { name: spec.name, dtype: 'float32', shape: spec.shape, data: new Float32Array(slice) }, byteLength };
    if (spec.dtype === 'int32') return { weight: { name: spec.name, dtype: 'int32', shape: spec.shape, data: new Int32Array(slice) }, byteLength };
    throw new Error(`weight ${spec.name}: dtype ${spec.dtype} is not supported`);
  }
  const data = new Float32Array(count);
  if (q.dtype === 'float16') {
    for (let i = 0; i < count; i++) data[i] = halfToFloat(bytes.readUInt16LE(offset + 2 * i));
    return { weight: { name: spec.name, dtype: 'float32', shape: spec.shape, data }, byteLength: count * 2 };
  }
  if (q.dtype === 'uint8' || q.dtype === 'uint16') {
    const width = q.dtype === 'uint8' ? 1 : 2;
    for (let i = 0; i < count; i++) {
      const v = width === 1 ? bytes[offset + i] : bytes.readUInt16LE(offset + 2 * i);
      data[i] = v * (q.scale ?? 1) + (q.min ?? 0);
    }
    return { weight: { name: spec.name, dtype: 'float32', shape: spec.shape, data }, byteLength: count * width };
  }
  throw new Error(`weight ${spec.name}: quantization ${q.dtype} is not supported`);
}

export function readTfjsGraph(modelJsonPath: string): TfGraph {
  let json: {
    format?: string;
    modelTopology?: { node?: TfNode[] };
    weightsManifest?: { paths: string[]; weights: WeightSpec[] }[];
  };
  try {
    json = JSON.parse(readFileSync(modelJsonPath, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read TFJS model ${modelJsonPath}: ${(err as Error).message}`);
  }
  if (json.format !== 'graph-model' || !json.modelTopology?.node || !json.weightsManifest) {
    throw new Error(`${modelJsonPath} is not a TFJS graph model (format "${json.format}")`);
  }
  const dir = path.dirname(modelJsonPath);
  const weights = new Map<string, TfWeight>();
  const sourceFiles = [modelJsonPath];
  for (const group of json.weightsManifest) {
    const files = group.paths.map((p) => path.join(dir, p));
    sourceFiles.push(...files);
    const bytes = Buffer.concat(files.map((p) => readFileSync(p)));
    let offset = 0;
    for (const spec of group.weights) {
      const { weight, byteLength } = decodeWeight(spec, bytes, offset);
      weights.set(spec.name, weight);
      offset += byteLength;
    }
    if (offset !== bytes.length) throw new Error(`${modelJsonPath}: weight shards hold ${bytes.length} bytes, manifest describes ${offset}`);
  }
  const nodes = json.modelTopology.node.map((n) => ({ name: n.name, op: n.op, input: n.input ?? [], attr: n.attr ?? {} }));
  return { nodes, weights, sourceFiles };
}

export const attrString = (a: TfAttr | undefined): string | undefined => (a?.s === undefined ? undefined : Buffer.from(a.s, 'base64').toString('utf8'));
export const attrInts = (a: TfAttr | undefined): number[] => (a?.list?.i ?? []).map(Number);
export const attrStrings = (a: TfAttr | undefined): string[] => (a?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
