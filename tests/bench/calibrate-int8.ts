#!/usr/bin/env node
/**
 * Calibration of the int8 face models (`node dist/tests/bench/calibrate-int8.js`): runs the float
 * models on the faces of the sample clips, as the extractors crop them, records the range of every
 * activation the quantisation needs, and writes models/pretrained/int8-calibration.json. Run again
 * after the converter changes (the file names the float model it was made for, and the int8
 * conversion refuses a mismatch).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { DEFAULT_FACE_SETTINGS } from '../../electron/engine/features/face-settings.js';
import { SessionFactory } from '../../electron/engine/onnx/sessions.js';
import { FaceDetector } from '../../electron/engine/face/detector.js';
import { FaceMesh } from '../../electron/engine/face/landmarks.js';
import { FaceTracker } from '../../electron/engine/face/tracker.js';
import { createExtractors } from '../../electron/engine/features/registry.js';
import type { ImageModelExtractor } from '../../electron/engine/features/image-model.js';
import type { FrameFaces } from '../../electron/engine/features/extractor.js';
import { resolveVideoTools } from '../../electron/engine/video/binaries.js';
import { probeVideo } from '../../electron/engine/video/probe.js';
import { VideoDecoder } from '../../electron/engine/video/decode.js';
import { ensureFaceModel, INT8_CALIBRATION_FILE, INT8_MODELS, type Int8Calibration } from '../../models/pretrained/face-models.js';
import { calibrationTensors, withExtraOutputs, type TensorRange } from '../../models/convert/quantize.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const CLIPS = ['samples/WolfgangLanger_Pexels.mp4', 'samples/single_face.mp4'];
/** Every k-th frame: faces change slowly, and neighbouring frames add little range. */
const EVERY = 3;

async function faces(): Promise<FrameFaces[]> {
  const tools = resolveVideoTools();
  const sessions = new SessionFactory({ provider: 'cpu', threads: 1 });
  const tracker = new FaceTracker(await FaceDetector.create(sessions, { minScore: DEFAULT_FACE_SETTINGS.minDetectionScore }), await FaceMesh.create(sessions), DEFAULT_FACE_SETTINGS);
  const items: FrameFaces[] = [];
  for (const clip of CLIPS) {
    let k = 0;
    for await (const frame of new VideoDecoder(await probeVideo(path.join(repo, clip), tools.ffprobe), { ffmpeg: tools.ffmpeg, maxSide: DEFAULT_FACE_SETTINGS.maxSide })) {
      const found = await tracker.process(frame);
      if (k++ % EVERY === 0 && found.length) items.push({ frame, faces: found });
    }
  }
  return items;
}

async function main(): Promise<void> {
  const items = await faces();
  const out: Int8Calibration = { version: 1, clips: CLIPS, every: EVERY, models: {} };
  for (const [extractorId, modelId] of Object.entries(INT8_MODELS)) {
    const [extractor] = (await createExtractors([extractorId], new SessionFactory({ provider: 'cpu', threads: 1 }))) as ImageModelExtractor[];
    const bytes = readFileSync(ensureFaceModel(modelId));
    const tensors = calibrationTensors(bytes);
    const session = await ort.InferenceSession.create(withExtraOutputs(bytes, tensors), { executionProviders: ['cpu'], logSeverityLevel: 3 });
    const ranges: Record<string, TensorRange> = {};
    let crops = 0;
    for (let i = 0; i < items.length; i += 8) {
      const { data, count, dims } = extractor.inputs(items.slice(i, i + 8));
      const result = await session.run({ input: new ort.Tensor('float32', data, [count, ...dims]) });
      crops += count;
      for (const name of tensors) {
        const values = result[name].data as Float32Array;
        const r = (ranges[name] ??= { min: Infinity, max: -Infinity });
        for (let j = 0; j < values.length; j++) {
          if (values[j] < r.min) r.min = values[j];
          if (values[j] > r.max) r.max = values[j];
        }
      }
    }
    out.models[modelId] = { fp32: createHash('sha256').update(bytes).digest('hex'), crops, ranges };
    console.log(`${modelId}: ${tensors.length} activations over ${crops} face crops`);
  }
  const file = path.join(repo, INT8_CALIBRATION_FILE);
  writeFileSync(file, `// Written by tests/bench/calibrate-int8.ts; do not edit.\nimport type { Int8Calibration } from './face-models.js';\n\nexport const INT8_CALIBRATION: Int8Calibration = ${JSON.stringify(out, null, 1)};\n`);
  console.log(`written to ${file}`);
}

await main();
