/**
 * Training speed: seconds per optimisation step (8 videos × 250 frames, forward + backward + Adam)
 * for each encoder at laptop and paper sizes, and seconds per epoch at s-Aff-Wild2 scale (142 333
 * training frames) extrapolated from the measured steps.
 */
import { findPreset, temporalConfig } from '../../models/train/config.js';
import { initWeights, paramCount } from '../../models/temporal/params.js';
import { TrainableModel } from '../../models/train/network.js';
import { segmentLoss } from '../../models/train/segments.js';
import { tf, tfReady } from '../../models/train/tf.js';

const ABAW_TRAIN_FRAMES = 142_333;

export async function trainBench(say: (s: string) => void, quick: boolean): Promise<void> {
  await tfReady();
  say('\n# Training — TensorFlow.js (WebAssembly backend, one thread), one step = 8 videos × 250 frames\n');
  say('| preset | input | parameters | s / step | s / epoch at 142k frames (extrapolated) |');
  say('|---|---:|---:|---:|---:|');
  const presets: [string, number][] = [['laptop-gru', 2691], ['laptop-lstm', 2691], ['laptop-transformer', 2691]];
  if (!quick) presets.push(['paper-gru', 2134], ['paper-lstm', 2134], ['paper-transformer', 2134]);
  for (const [name, dim] of presets) {
    const tc = findPreset(name).config;
    const config = temporalConfig(tc, dim);
    const model = new TrainableModel(config, initWeights(config, 0));
    const optimizer = tf.train.adam(1e-4);
    const B = 8, T = 250;
    const seg = {
      x: tf.randomNormal([B, T, dim]) as tf.Tensor3D, mask: tf.ones([B, T]) as tf.Tensor2D,
      v: tf.zeros([B, T]) as tf.Tensor2D, vm: tf.ones([B, T]) as tf.Tensor2D, a: tf.zeros([B, T]) as tf.Tensor2D, am: tf.ones([B, T]) as tf.Tensor2D,
      e: tf.zeros([B, T], 'int32') as tf.Tensor2D, em: tf.ones([B, T]) as tf.Tensor2D, au: tf.zeros([B, T, 12]) as tf.Tensor3D, aum: tf.ones([B, T, 12]) as tf.Tensor3D,
    };
    const step = () => {
      const { value, grads } = tf.variableGrads(() => {
        const { outputs } = model.forward(seg.x, model.zeroState(B), { training: true, random: Math.random, mask: seg.mask });
        return segmentLoss(outputs, seg, tc.lossWeights).total;
      }, [...model.vars.values()]);
      optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(); // warm-up
    const reps = name.startsWith('paper') ? 1 : 2;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) step();
    const s = (performance.now() - t0) / 1000 / reps;
    say(`| ${name} | ${dim} | ${(paramCount(config) / 1e6).toFixed(1)} M | ${s.toFixed(2)} | ${((s * ABAW_TRAIN_FRAMES) / (B * T) / 60).toFixed(1)} min |`);
    model.dispose();
    optimizer.dispose();
    tf.dispose(Object.values(seg));
  }
}
