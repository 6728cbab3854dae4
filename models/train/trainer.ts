/**
 * The training loop, top to bottom:
 *
 *   for each epoch:
 *     shuffle the videos; batch them (padded, with frame masks)
 *     for each batch, for each segment of L frames (state carried from the previous segment, detached):
 *       loss = w_V·MSE(V) + w_A·MSE(A) + w_E·CE(expression) + w_AU·BCE(AU), each masked to valid labels
 *         (optionally with AU positives and expression classes weighted by the training labels' balance)
 *       gradients → clipped to a global norm → one Adam step (learning rate decaying linearly)
 *     validate with the challenge metrics; keep the best weights per task and overall;
 *     log the epoch to metrics.csv and checkpoint (a killed run resumes from its last finished epoch)
 *
 * The pieces live beside it: segments.ts (a step's tensors and loss), validation.ts (predictions and
 * metrics), normalisation.ts, checkpoint.ts, metrics-log.ts.
 */
import { mkdirSync } from 'node:fs';
import type { Task } from '../../common/labels.js';
import type { TemporalConfig } from '../temporal/config.js';
import { initWeights, seededRandom, type Weights } from '../temporal/params.js';
import { Checkpoint, freshRunState, type RunState } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import type { TrainSequence } from './dataset.js';
import { MetricsLog } from './metrics-log.js';
import { TrainableModel } from './network.js';
import { normalise, trainStatistics, type Normalisation } from './normalisation.js';
import { lossBalance } from './loss-balance.js';
import { segmentLoss, segmentTensors, truthOf } from './segments.js';
import { tf, tfReady } from './tf.js';
import { evaluatePredictions, predictSequences, valMetrics, type ValMetrics } from './validation.js';

export interface EpochRecord extends ValMetrics {
  epoch: number;
  loss: number;
  lossValence: number;
  lossArousal: number;
  lossExpression: number;
  lossAu: number;
  seconds: number;
  /** The learning rate of the epoch's last step. */
  learningRate: number;
}

export interface Progress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  stepsPerSecond: number;
  loss: number;
  /** The learning rate of the step just taken. */
  learningRate: number;
  last?: EpochRecord;
  best?: { epoch: number; pMtl: number };
}

export interface TrainResult {
  config: TemporalConfig;
  best: Weights;
  bestEpoch: number;
  bestPerTask: Record<Task, { epoch: number; score: number }>;
  history: EpochRecord[];
  normalisation?: Normalisation;
}

export interface TrainRunOptions {
  outDir: string;
  train: TrainSequence[];
  val: TrainSequence[];
  dim: number;
  config: TrainConfig;
  temporal: TemporalConfig;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** Stop after this many epochs of this call (the run itself can be resumed later). */
  maxEpochsThisRun?: number;
}

/** Which validation figure decides each task's best epoch. */
const TASK_SCORE: Record<Task, keyof ValMetrics> = { valence: 'cccValence', arousal: 'cccArousal', expression: 'f1Expression', au: 'f1Au' };

/**
 * The batches of one epoch: sequences shuffled with a seed that depends on the epoch (so a resumed
 * run shuffles alike, and the schedule can count every epoch's steps before the first one), and the
 * random source for that epoch's dropout.
 */
function epochBatches(n: number, batchSize: number, seed: number, epoch: number): { batches: number[][]; random: () => number } {
  const random = seededRandom(seed * 1_000_003 + epoch);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const batches: number[][] = [];
  for (let b0 = 0; b0 < n; b0 += batchSize) batches.push(order.slice(b0, b0 + batchSize));
  return { batches, random };
}

/** One optimisation step per segment of a batch's longest sequence. */
const batchSteps = (batch: TrainSequence[], L: number): number => Math.ceil(Math.max(...batch.map((s) => s.frames.length)) / L);

export async function trainModel(o: TrainRunOptions): Promise<TrainResult> {
  await tfReady();
  const { config: tc, temporal, dim } = o;
  const L = temporal.segmentLength;
  mkdirSync(o.outDir, { recursive: true });
  const stats = tc.normalization === 'train' ? trainStatistics(o.train, dim) : undefined;
  const train = normalise(o.train, dim, tc.normalization, stats);
  const val = normalise(o.val, dim, tc.normalization, stats);
  const balance = lossBalance(o.train, tc);

  // fixed variable names: Adam's saved moments are matched to variables by name on resume
  const model = new TrainableModel(temporal, initWeights(temporal, tc.seed), 'train');
  const optimizer = tf.train.adam(tc.learningRate, tc.beta1, tc.beta2, 1e-8);
  const checkpoint = new Checkpoint(o.outDir);
  const log = new MetricsLog(o.outDir);
  try {
    let state: RunState = freshRunState();
    let best: Weights = model.weights();
    if (checkpoint.exists()) {
      const saved = await checkpoint.load(optimizer);
      ({ state, best } = saved);
      model.setWeights(saved.weights);
    } else log.start();

    // the schedule counts the steps the shuffled batches will actually take, epoch by epoch
    const stepsPerEpoch = Array.from({ length: tc.epochs }, (_, e) =>
      epochBatches(train.length, tc.batchSize, tc.seed, e + 1).batches.reduce((n, b) => n + batchSteps(b.map((i) => train[i]), L), 0));
    const totalSteps = stepsPerEpoch.reduce((a, b) => a + b, 0);
    const learningRate = (step: number) => tc.learningRate * Math.max(0, 1 - step / totalSteps);
    const bestSoFar = () => ({ epoch: state.bestEpoch, pMtl: state.history.find((h) => h.epoch === state.bestEpoch)?.pMtl ?? NaN });
    const lastEpoch = Math.min(tc.epochs, state.epoch + (o.maxEpochsThisRun ?? Infinity));

    for (let epoch = state.epoch + 1; epoch <= lastEpoch; epoch++) {
      const t0 = performance.now();
      const { batches, random } = epochBatches(train.length, tc.batchSize, tc.seed, epoch);
      const steps = stepsPerEpoch[epoch - 1];
      const sums = { loss: 0, valence: 0, arousal: 0, expression: 0, au: 0, n: 0 };
      let step = 0;
      let rate = learningRate(state.step);
      for (const indices of batches) {
        const batch = indices.map((i) => train[i]);
        const maxLen = Math.max(...batch.map((s) => s.frames.length));
        let carried = model.zeroState(batch.length);
        for (let start = 0; start < maxLen; start += L) {
          // let a server in this process answer between steps (each step blocks for a while)
          await new Promise((resolve) => setImmediate(resolve));
          if (o.signal?.aborted) throw new DOMException('training stopped', 'AbortError');
          rate = learningRate(state.step);
          (optimizer as unknown as { learningRate: number }).learningRate = rate;
          const seg = segmentTensors(batch, start, Math.min(L, maxLen - start), dim);
          const truth = temporal.framework.type === 'feedback' ? truthOf(seg) : undefined;
          let nextState: Map<string, tf.Tensor> = new Map();
          let parts: Record<Task, number> = { valence: 0, arousal: 0, expression: 0, au: 0 };
          const { value, grads } = tf.variableGrads(() => {
            const { outputs, state: st } = model.forward(seg.x, carried, { training: true, random, mask: seg.mask, truth, mixRate: tc.feedbackMix });
            // the state goes on to the next segment as a constant: truncated backpropagation through time
            nextState = new Map([...st].map(([k, t]) => [k, tf.keep(t.clone())]));
            const { total, parts: p } = segmentLoss(outputs, seg, tc.lossWeights, balance);
            parts = Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.dataSync()[0]])) as Record<Task, number>;
            return total;
          }, [...model.vars.values()]);
          const norm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
          const scale = norm > tc.clipNorm ? tc.clipNorm / norm : 1;
          const clipped = scale < 1 ? Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, scale)])) : grads;
          optimizer.applyGradients(clipped as unknown as Parameters<typeof optimizer.applyGradients>[0]);
          const lossValue = value.dataSync()[0];
          tf.dispose([value, ...Object.values(grads), ...(scale < 1 ? Object.values(clipped) : []), ...Object.values(seg), ...(truth ? [truth.expression?.value] : [])].filter(Boolean) as tf.Tensor[]);
          for (const t of carried.values()) t.dispose();
          carried = nextState;
          if (!Number.isFinite(lossValue)) throw new Error(`the loss became ${lossValue} at epoch ${epoch}, step ${step + 1}: lower the learning rate`);
          sums.loss += lossValue;
          for (const t of ['valence', 'arousal', 'expression', 'au'] as const) sums[t] += parts[t];
          sums.n++;
          step++;
          state.step++;
          o.onProgress?.({ epoch, epochs: tc.epochs, step, steps, stepsPerSecond: step / ((performance.now() - t0) / 1000), loss: sums.loss / sums.n, learningRate: rate, last: state.history[state.history.length - 1], best: bestSoFar() });
        }
        for (const t of carried.values()) t.dispose();
      }

      // validate, keep the best weights, log, checkpoint
      const metrics = valMetrics(evaluatePredictions(val, predictSequences(model, val, dim)));
      const mean = (x: number) => x / Math.max(sums.n, 1);
      const record: EpochRecord = {
        epoch, loss: mean(sums.loss), lossValence: mean(sums.valence), lossArousal: mean(sums.arousal), lossExpression: mean(sums.expression), lossAu: mean(sums.au),
        ...metrics, seconds: (performance.now() - t0) / 1000, learningRate: rate,
      };
      state.history.push(record);
      const weights = model.weights();
      const improved = temporal.tasks.filter((t) => metrics[TASK_SCORE[t]] > state.bestPerTask[t].score);
      for (const t of improved) state.bestPerTask[t] = { epoch, score: metrics[TASK_SCORE[t]] };
      const previousBest = state.history.find((h) => h.epoch === state.bestEpoch);
      if (!previousBest || metrics.pMtl > previousBest.pMtl) {
        state.bestEpoch = epoch;
        best = weights;
      }
      checkpoint.saveBest(best, improved.map((task) => ({ task, weights })));
      log.append(record);
      state.epoch = epoch;
      await checkpoint.save(weights, optimizer, state);
      o.onProgress?.({ epoch, epochs: tc.epochs, step: steps, steps, stepsPerSecond: steps / record.seconds, loss: record.loss, learningRate: rate, last: record, best: bestSoFar() });
    }
    return { config: temporal, best, bestEpoch: state.bestEpoch, bestPerTask: state.bestPerTask, history: state.history, normalisation: stats };
  } finally {
    // also when stopped or failed: the variables' names must be free for the next run in this process
    model.dispose();
    optimizer.dispose();
  }
}
