import { beforeAll, describe, expect, it } from 'vitest';
import { parseTemporalConfig } from '../../models/temporal/config.js';
import { initWeights, seededRandom } from '../../models/temporal/params.js';
import { TrainableModel } from '../../models/train/network.js';
import { tf, tfReady } from '../../models/train/tf.js';

beforeAll(async () => {
  await tfReady();
});

/** Hand-written cells: the gradients tfjs derives through them agree with finite differences. */
describe('gradient check of the hand-written GRU and LSTM cells', () => {
  for (const type of ['gru', 'lstm'] as const) {
    it(`${type}: analytic gradients = central finite differences, also through the carried state`, () => {
      const config = parseTemporalConfig({ inputDim: 2, encoder: { type, layers: 2, hidden: 3 }, heads: { hidden: [] }, segmentLength: 4 });
      const model = new TrainableModel(config, initWeights(config, 5));
      const r = seededRandom(3);
      const x = tf.tensor3d(Float32Array.from({ length: 4 * 2 }, () => r() * 2 - 1), [1, 4, 2]);
      const state0 = new Map([...model.zeroState(1)].map(([k, t]) => [k, tf.add(t, tf.randomUniform(t.shape, -0.5, 0.5, 'float32', 11))]));
      const probe = { valence: Float32Array.from({ length: 4 }, () => r() - 0.5), au: Float32Array.from({ length: 4 * 12 }, () => r() - 0.5) };
      const loss = () => {
        const { outputs, state } = model.forward(x, state0, { training: false });
        // a fixed random projection of outputs and final state: every path contributes
        const s = [...state.values()].map((t) => tf.sum(tf.mul(t, 0.3)));
        return tf.addN([
          tf.sum(tf.mul(outputs.valence as tf.Tensor, tf.tensor2d(probe.valence, [1, 4]))),
          tf.sum(tf.mul(outputs.au as tf.Tensor, tf.tensor3d(probe.au, [1, 4, 12]))),
          ...s,
        ]) as tf.Scalar;
      };
      const { grads } = tf.variableGrads(loss);
      const names = ['enc.shared.l0.W', 'enc.shared.l0.R', 'enc.shared.l0.B', 'enc.shared.l1.R'];
      let checked = 0;
      for (const name of names) {
        const v = model.vars.get(name) as tf.Variable;
        const analytic = grads[v.name].dataSync();
        const base = v.dataSync().slice();
        for (const i of [0, 3, Math.floor(base.length / 2), base.length - 1]) {
          const eps = 1e-2;
          const at = (delta: number) => {
            const w = base.slice();
            w[i] += delta;
            v.assign(tf.tensor(w, v.shape));
            return tf.tidy(() => loss().dataSync()[0]);
          };
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          v.assign(tf.tensor(base, v.shape));
          expect(Math.abs(numeric - analytic[i]), `${name}[${i}]: numeric ${numeric}, analytic ${analytic[i]}`).toBeLessThan(2e-3 + 2e-2 * Math.abs(analytic[i]));
          checked++;
        }
      }
      expect(checked).toBe(16);
      model.dispose();
    });
  }
});
