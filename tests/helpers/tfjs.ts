/** Runs the original TFJS graph models (wasm backend) as the reference for the ONNX conversions. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

let ready: Promise<void> | undefined;
export function tfjsReady(): Promise<void> {
  ready ??= (async () => {
    await tf.setBackend('wasm');
    await tf.ready();
  })();
  return ready;
}

export async function loadTfjsGraphModel(modelJson: string): Promise<tf.GraphModel> {
  await tfjsReady();
  const json = JSON.parse(readFileSync(modelJson, 'utf8'));
  const weightSpecs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  const weightData = Buffer.concat(
    json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => readFileSync(path.join(path.dirname(modelJson), p)))),
  );
  const ab = weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength);
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: ab, format: json.format }));
}

export { tf };
