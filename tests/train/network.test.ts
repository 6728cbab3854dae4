import { beforeAll, describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { parseTemporalConfig, stateSpecs } from '../../models/temporal/config.js';
import { initWeights, seededRandom } from '../../models/temporal/params.js';
import { buildTemporalGraph } from '../../models/temporal/graph.js';
import { asymmetricBias, ENCODERS, FRAMEWORKS } from '../helpers/architectures.js';
import { TASKS } from '../../common/labels.js';
import { TrainableModel } from '../../models/train/network.js';
import { tf, tfReady } from '../../models/train/tf.js';

const encoders = ENCODERS;
const frameworks = FRAMEWORKS;

beforeAll(async () => {
  await tfReady();
});

describe('the trainer\'s TensorFlow.js model computes what the ONNX graph computes', () => {
  for (const [en, encoder] of Object.entries(encoders)) {
    for (const [fn, framework] of Object.entries(frameworks)) {
      it(`${en} × ${fn}, two segments with the state carried`, async () => {
        const config = parseTemporalConfig({ inputDim: 5, encoder, framework, heads: { hidden: [6] }, segmentLength: 10 });
        const weights = asymmetricBias(initWeights(config, 3), seededRandom(17));
        const model = new TrainableModel(config, weights);
        const session = await ort.InferenceSession.create(buildTemporalGraph(config, weights), { executionProviders: ['cpu'] });
        const r = seededRandom(9);
        let tfState = model.zeroState(2);
        let ortState: Record<string, ort.Tensor> = Object.fromEntries(stateSpecs(config).map((s) => {
          const dims = s.dims.map((d) => (d === 'batch' ? 2 : d));
          return [`state_in.${s.name}`, new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims)];
        }));
        let maxDiff = 0;
        for (const T of [7, 4]) {
          const data = Float32Array.from({ length: 2 * T * 5 }, () => r() * 2 - 1);
          const { outputs, state } = model.forward(tf.tensor3d(data, [2, T, 5]), tfState, { training: false });
          const ours = await session.run({ features: new ort.Tensor('float32', data, [2, T, 5]), ...ortState });
          for (const t of TASKS) {
            const a = (outputs[t] as tf.Tensor).dataSync();
            const b = ours[t].data as Float32Array;
            for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
          }
          tfState = state;
          ortState = Object.fromEntries(stateSpecs(config).map((s) => [`state_in.${s.name}`, ours[`state_out.${s.name}`]]));
        }
        expect(maxDiff).toBeLessThan(1e-5);
        model.dispose();
      });
    }
  }
});
