/**
 * The training loop, top to bottom:
 *
 *   for each epoch:
 *     shuffle the videos; batch them (padded, with frame masks)
 *     for each batch, for each segment of L frames (state carried from the previous segment, detached):
 *       loss = w_V·MSE(V) + w_A·MSE(A) + w_E·CE(expression) + w_AU·BCE(AU), each masked to valid labels
 *       gradients → clipped to a global norm → one Adam step (learning rate decaying linearly)
 *     validate with the challenge metrics; keep the best weights per task and overall;
 *     write metrics.csv and a checkpoint (a killed run resumes from its last finished epoch)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { AUS, EXPRESSIONS, type Task } from '../../common/labels.js';
import { auF1, ccc, macroF1, pMtl } from '../../common/metrics.js';
import { writeFileAtomic } from '../../common/node/storage.js';
import type { TemporalConfig } from '../temporal/config.js';
import { initWeights, seededRandom, type Weights } from '../temporal/params.js';
import type { TrainConfig } from './config.js';
import type { TrainSequence } from './dataset.js';
import { TrainableModel, type FeedbackTruth } from './network.js';
import { tf, tfReady } from './tf.js';

export interface Normalisation {
  mean: Float32Array;
  std: Float32Array;
}

export interface ValMetrics {
  cccValence: number;
  cccArousal: number;
  f1Expression: number;
  f1Au: number;
  pMtl: number;
}

export interface EpochRecord extends ValMetrics {
  epoch: number;
  loss: number;
  lossValence: number;
  lossArousal: number;
  lossExpression: number;
  lossAu: number;
  seconds: number;
  learningRate: number;
}

export interface Progress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  stepsPerSecond: number;
  loss: number;
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

/** Per-feature mean and standard deviation over every frame of the training set. */
export function trainStatistics(seqs: TrainSequence[], dim: number): Normalisation {
  const sum = new Float64Array(dim);
  const sq = new Float64Array(dim);
  let n = 0;
  for (const s of seqs) {
    const rows = s.features.length / dim;
    for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) {
      const v = s.features[r * dim + d];
      sum[d] += v;
      sq[d] += v * v;
    }
    n += rows;
  }
  const mean = Float32Array.from(sum, (v) => v / Math.max(n, 1));
  const std = Float32Array.from(sq, (v, d) => Math.sqrt(Math.max(v / Math.max(n, 1) - mean[d] ** 2, 0)) || 1);
  return { mean, std };
}

/** Normalised copies of the sequences' features (the originals are kept for export checks). */
export function normalise(seqs: TrainSequence[], dim: number, how: TrainConfig['normalization'], stats?: Normalisation): TrainSequence[] {
  if (how === 'none') return seqs;
  return seqs.map((s) => {
    const { mean, std } = how === 'per-sequence' ? trainStatistics([s], dim) : (stats as Normalisation);
    const f = new Float32Array(s.features.length);
    for (let i = 0; i < f.length; i++) f[i] = (s.features[i] - mean[i % dim]) / std[i % dim];
    return { ...s, features: f };
  });
}

/** One segment of a batch of sequences as tensors: features, frame mask, labels and label masks. */
function segmentTensors(batch: TrainSequence[], start: number, T: number, dim: number) {
  const B = batch.length;
  const x = new Float32Array(B * T * dim);
  const mask = new Float32Array(B * T);
  const v = new Float32Array(B * T), vm = new Float32Array(B * T);
  const a = new Float32Array(B * T), am = new Float32Array(B * T);
  const e = new Int32Array(B * T), em = new Float32Array(B * T);
  const au = new Float32Array(B * T * 12), aum = new Float32Array(B * T * 12);
  batch.forEach((s, b) => {
    const rows = s.frames.length;
    for (let t = 0; t < T; t++) {
      const r = start + t;
      if (r >= rows) break;
      const i = b * T + t;
      x.set(s.features.subarray(r * dim, (r + 1) * dim), i * dim);
      mask[i] = 1;
      if (!Number.isNaN(s.valence[r])) (v[i] = s.valence[r]), (vm[i] = 1);
      if (!Number.isNaN(s.arousal[r])) (a[i] = s.arousal[r]), (am[i] = 1);
      if (s.expression[r] >= 0) (e[i] = s.expression[r]), (em[i] = 1);
      for (let j = 0; j < 12; j++) {
        const l = s.au[r * 12 + j];
        if (l >= 0) (au[i * 12 + j] = l), (aum[i * 12 + j] = 1);
      }
    }
  });
  return {
    x: tf.tensor3d(x, [B, T, dim]),
    mask: tf.tensor2d(mask, [B, T]),
    v: tf.tensor2d(v, [B, T]), vm: tf.tensor2d(vm, [B, T]),
    a: tf.tensor2d(a, [B, T]), am: tf.tensor2d(am, [B, T]),
    e: tf.tensor2d(e, [B, T], 'int32'), em: tf.tensor2d(em, [B, T]),
    au: tf.tensor3d(au, [B, T, 12]), aum: tf.tensor3d(aum, [B, T, 12]),
  };
}

type Seg = ReturnType<typeof segmentTensors>;

const maskedMean = (values: tf.Tensor, mask: tf.Tensor): tf.Scalar => tf.div(tf.sum(tf.mul(values, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;

/** The multi-task loss of one segment, each task over its valid labels only. */
export function segmentLoss(out: Partial<Record<Task, tf.Tensor>>, s: Seg, w: TrainConfig['lossWeights']): { total: tf.Scalar; parts: Record<Task, tf.Scalar> } {
  const zero = tf.scalar(0);
  const parts: Record<Task, tf.Scalar> = {
    valence: out.valence ? maskedMean(tf.square(tf.sub(out.valence, s.v)), s.vm) : zero,
    arousal: out.arousal ? maskedMean(tf.square(tf.sub(out.arousal, s.a)), s.am) : zero,
    expression: out.expression
      ? maskedMean(tf.neg(tf.sum(tf.mul(tf.logSoftmax(out.expression), tf.oneHot(s.e, EXPRESSIONS.length)), -1)), s.em)
      : zero,
    // BCE with logits, the stable form: max(x, 0) − x·y + log(1 + e^−|x|)
    au: out.au ? maskedMean(tf.add(tf.sub(tf.relu(out.au), tf.mul(out.au, s.au)), tf.log1p(tf.exp(tf.neg(tf.abs(out.au))))), s.aum) : zero,
  };
  const total = tf.addN([tf.mul(parts.valence, w.valence), tf.mul(parts.arousal, w.arousal), tf.mul(parts.expression, w.expression), tf.mul(parts.au, w.au)]) as tf.Scalar;
  return { total, parts };
}

function truthOf(s: Seg): FeedbackTruth {
  return {
    valence: { value: s.v, valid: s.vm },
    arousal: { value: s.a, valid: s.am },
    expression: { value: tf.oneHot(s.e, EXPRESSIONS.length).toFloat() as tf.Tensor3D, valid: s.em },
    au: { value: s.au, valid: s.aum },
  };
}

/** Per-row predictions of a model over whole sequences (segments in order, state carried). */
export function predictSequences(model: TrainableModel, seqs: TrainSequence[], dim: number, batchSize = 8): { v: Float32Array; a: Float32Array; e: Float32Array; au: Float32Array }[] {
  const L = model.config.segmentLength;
  const out = seqs.map((s) => ({ v: new Float32Array(s.frames.length), a: new Float32Array(s.frames.length), e: new Float32Array(s.frames.length * 8), au: new Float32Array(s.frames.length * 12) }));
  for (let b0 = 0; b0 < seqs.length; b0 += batchSize) {
    const batch = seqs.slice(b0, b0 + batchSize);
    const maxLen = Math.max(...batch.map((s) => s.frames.length));
    let state = model.zeroState(batch.length);
    for (let start = 0; start < maxLen; start += L) {
      const T = Math.min(L, maxLen - start);
      const next = tf.tidy(() => {
        const seg = segmentTensors(batch, start, T, dim);
        const { outputs, state: st } = model.forward(seg.x, state, { training: false, mask: seg.mask });
        const get = (t: Task, f: (x: tf.Tensor) => tf.Tensor) => (outputs[t] ? (f(outputs[t] as tf.Tensor).dataSync() as Float32Array) : undefined);
        const v = get('valence', (x) => tf.clipByValue(x, -1, 1));
        const a = get('arousal', (x) => tf.clipByValue(x, -1, 1));
        const e = get('expression', (x) => tf.softmax(x));
        const au = get('au', (x) => tf.sigmoid(x));
        batch.forEach((s, bi) => {
          const rows = Math.min(T, s.frames.length - start);
          for (let t = 0; t < rows; t++) {
            const i = bi * T + t;
            const r = start + t;
            const o = out[b0 + bi];
            if (v) o.v[r] = v[i];
            if (a) o.a[r] = a[i];
            if (e) o.e.set(e.subarray(i * 8, i * 8 + 8), r * 8);
            if (au) o.au.set(au.subarray(i * 12, i * 12 + 12), r * 12);
          }
        });
        return Object.fromEntries(st) as Record<string, tf.Tensor>;
      });
      for (const t of state.values()) t.dispose();
      state = new Map(Object.entries(next));
    }
    for (const t of state.values()) t.dispose();
  }
  return out;
}

/** The challenge metrics of per-row predictions against the sequences' labels. */
export function evaluatePredictions(seqs: TrainSequence[], preds: ReturnType<typeof predictSequences>, auThresholds = AUS.map(() => 0.5)): ValMetrics {
  const pv: number[] = [], lv: number[] = [], pa: number[] = [], la: number[] = [], pe: number[] = [], le: number[] = [];
  const pau = AUS.map(() => [] as number[]), lau = AUS.map(() => [] as number[]);
  seqs.forEach((s, i) => {
    const p = preds[i];
    for (let r = 0; r < s.frames.length; r++) {
      if (!Number.isNaN(s.valence[r])) pv.push(p.v[r]), lv.push(s.valence[r]);
      if (!Number.isNaN(s.arousal[r])) pa.push(p.a[r]), la.push(s.arousal[r]);
      if (s.expression[r] >= 0) {
        let best = 0;
        for (let c = 1; c < 8; c++) if (p.e[r * 8 + c] > p.e[r * 8 + best]) best = c;
        pe.push(best), le.push(s.expression[r]);
      }
      for (let j = 0; j < 12; j++) if (s.au[r * 12 + j] >= 0) pau[j].push(p.au[r * 12 + j]), lau[j].push(s.au[r * 12 + j]);
    }
  });
  const cccV = pv.length ? ccc(pv, lv) : 0;
  const cccA = pa.length ? ccc(pa, la) : 0;
  const f1E = pe.length ? macroF1(pe, le, 8).mean : 0;
  const scored = AUS.map((_, j) => (lau[j].length ? auF1(pau[j], lau[j], auThresholds[j]) : NaN)).filter(Number.isFinite);
  const f1Au = scored.length ? scored.reduce((x, y) => x + y, 0) / scored.length : 0;
  return { cccValence: cccV, cccArousal: cccA, f1Expression: f1E, f1Au, pMtl: pMtl(cccV, cccA, f1E, f1Au) };
}

const TASK_SCORE: Record<Task, keyof ValMetrics> = { valence: 'cccValence', arousal: 'cccArousal', expression: 'f1Expression', au: 'f1Au' };

export const METRICS_HEADER = 'epoch,loss,loss_valence,loss_arousal,loss_expression,loss_au,val_ccc_valence,val_ccc_arousal,val_f1_expression,val_f1_au,val_p_mtl,learning_rate,seconds';

/** A list of named arrays with their shapes, in order (names may repeat: Adam's two moments of one variable). */
type Entry = [name: string, data: Float32Array, shape: number[]];

function encodeEntries(entries: Entry[]): Buffer {
  const header = Buffer.from(JSON.stringify(entries.map(([n, d, shape]) => [n, d.length, shape])));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  return Buffer.concat([len, header, ...entries.map(([, d]) => Buffer.from(d.slice().buffer))]);
}

function decodeEntries(buf: Buffer): Entry[] {
  const n = buf.readUInt32LE(0);
  const meta = JSON.parse(buf.subarray(4, 4 + n).toString('utf8')) as [string, number, number[]][];
  let off = 4 + n;
  return meta.map(([name, len, shape]) => {
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + len * 4));
    off += len * 4;
    return [name, data, shape];
  });
}

const encodeWeights = (w: Weights): Buffer => encodeEntries([...w].map(([n, d]) => [n, d, [d.length]]));
const decodeWeights = (buf: Buffer): Weights => new Map(decodeEntries(buf).map(([n, d]) => [n, d]));

interface CheckpointState {
  epoch: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestPerTask: TrainResult['bestPerTask'];
  step: number;
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

export async function trainModel(o: TrainRunOptions): Promise<TrainResult> {
  await tfReady();
  const { config: tc, temporal, dim } = o;
  mkdirSync(o.outDir, { recursive: true });
  const ckDir = path.join(o.outDir, 'checkpoint');
  const stats = tc.normalization === 'train' ? trainStatistics(o.train, dim) : undefined;
  const train = normalise(o.train, dim, tc.normalization, stats);
  const val = normalise(o.val, dim, tc.normalization, stats);

  // fixed variable names: Adam's saved moments are matched to variables by name on resume
  const model = new TrainableModel(temporal, initWeights(temporal, tc.seed), 'train');
  const optimizer = tf.train.adam(tc.learningRate, tc.beta1, tc.beta2, 1e-8);
  try {
    let state: CheckpointState = {
      epoch: 0, history: [], bestEpoch: 0, step: 0,
      bestPerTask: { valence: { epoch: 0, score: -Infinity }, arousal: { epoch: 0, score: -Infinity }, expression: { epoch: 0, score: -Infinity }, au: { epoch: 0, score: -Infinity } },
    };
    let best: Weights = model.weights();
    const metricsFile = path.join(o.outDir, 'metrics.csv');

    if (existsSync(path.join(ckDir, 'state.json'))) {
      // resume: weights, optimizer moments, where we were, what was best
      state = JSON.parse(readFileSync(path.join(ckDir, 'state.json'), 'utf8')) as CheckpointState;
      model.setWeights(decodeWeights(readFileSync(path.join(ckDir, 'weights.bin'))));
      best = decodeWeights(readFileSync(path.join(o.outDir, 'best.bin')));
      const opt = decodeEntries(readFileSync(path.join(ckDir, 'optimizer.bin')));
      await optimizer.setWeights(opt.map(([name, data, shape]) => ({ name, tensor: name === 'iter' ? tf.scalar(data[0], 'int32') : tf.tensor(data, shape) })));
      for (const t of state.bestPerTask ? Object.values(state.bestPerTask) : []) if (t.score === null) t.score = -Infinity;
    } else {
      writeFileSync(metricsFile, `${METRICS_HEADER}\n`);
    }

    const L = temporal.segmentLength;
    const stepsPerEpoch = (() => {
      let n = 0;
      for (let i = 0; i < train.length; i += tc.batchSize) n += Math.ceil(Math.max(...train.slice(i, i + tc.batchSize).map((s) => s.frames.length)) / L);
      return n;
    })();
    const totalSteps = stepsPerEpoch * tc.epochs;
    const lastEpoch = Math.min(tc.epochs, state.epoch + (o.maxEpochsThisRun ?? Infinity));

    for (let epoch = state.epoch + 1; epoch <= lastEpoch; epoch++) {
      const t0 = performance.now();
      const random = seededRandom(tc.seed * 1_000_003 + epoch);
      const order = train.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      const sums = { loss: 0, valence: 0, arousal: 0, expression: 0, au: 0, n: 0 };
      let step = 0;
      for (let b0 = 0; b0 < order.length; b0 += tc.batchSize) {
        const batch = order.slice(b0, b0 + tc.batchSize).map((i) => train[i]);
        const maxLen = Math.max(...batch.map((s) => s.frames.length));
        let carried = model.zeroState(batch.length);
        for (let start = 0; start < maxLen; start += L) {
          // let a server in this process answer between steps (each step blocks for a while)
          await new Promise((resolve) => setImmediate(resolve));
          if (o.signal?.aborted) throw new DOMException('training stopped', 'AbortError');
          const T = Math.min(L, maxLen - start);
          const lr = tc.learningRate * Math.max(0, 1 - state.step / totalSteps);
          (optimizer as unknown as { learningRate: number }).learningRate = lr;
          const seg = segmentTensors(batch, start, T, dim);
          const truth = temporal.framework.type === 'feedback' ? truthOf(seg) : undefined;
          let nextState: Map<string, tf.Tensor> = new Map();
          let parts: Record<Task, number> = { valence: 0, arousal: 0, expression: 0, au: 0 };
          const { value, grads } = tf.variableGrads(() => {
            const { outputs, state: st } = model.forward(seg.x, carried, { training: true, random, mask: seg.mask, truth, mixRate: tc.feedbackMix });
            // the state goes on to the next segment as a constant: truncated backpropagation through time
            nextState = new Map([...st].map(([k, t]) => [k, tf.keep(t.clone())]));
            const { total, parts: p } = segmentLoss(outputs, seg, tc.lossWeights);
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
          sums.valence += parts.valence;
          sums.arousal += parts.arousal;
          sums.expression += parts.expression;
          sums.au += parts.au;
          sums.n++;
          step++;
          state.step++;
          o.onProgress?.({ epoch, epochs: tc.epochs, step, steps: stepsPerEpoch, stepsPerSecond: step / ((performance.now() - t0) / 1000), loss: sums.loss / sums.n, last: state.history[state.history.length - 1], best: { epoch: state.bestEpoch, pMtl: state.history.find((h) => h.epoch === state.bestEpoch)?.pMtl ?? NaN } });
        }
        for (const t of carried.values()) t.dispose();
      }
      const metrics = evaluatePredictions(val, predictSequences(model, val, dim));
      const record: EpochRecord = {
        epoch, loss: sums.loss / Math.max(sums.n, 1), lossValence: sums.valence / Math.max(sums.n, 1), lossArousal: sums.arousal / Math.max(sums.n, 1),
        lossExpression: sums.expression / Math.max(sums.n, 1), lossAu: sums.au / Math.max(sums.n, 1), ...metrics,
        seconds: (performance.now() - t0) / 1000, learningRate: tc.learningRate * Math.max(0, 1 - state.step / totalSteps),
      };
      state.history.push(record);
      const weights = model.weights();
      for (const t of temporal.tasks) {
        const score = metrics[TASK_SCORE[t]];
        if (score > state.bestPerTask[t].score) {
          state.bestPerTask[t] = { epoch, score };
          writeFileAtomic(path.join(o.outDir, `best-${t}.bin`), encodeWeights(weights));
        }
      }
      const bestRecord = state.history.find((h) => h.epoch === state.bestEpoch);
      if (!bestRecord || metrics.pMtl > bestRecord.pMtl) {
        state.bestEpoch = epoch;
        best = weights;
      }
      writeFileAtomic(path.join(o.outDir, 'best.bin'), encodeWeights(best));
      appendFileSync(metricsFile, `${[epoch, record.loss, record.lossValence, record.lossArousal, record.lossExpression, record.lossAu, metrics.cccValence, metrics.cccArousal, metrics.f1Expression, metrics.f1Au, metrics.pMtl, record.learningRate, record.seconds].map((x) => (typeof x === 'number' ? +x.toPrecision(6) : x)).join(',')}\n`);
      // checkpoint last: a run killed before this line redoes the epoch
      mkdirSync(ckDir, { recursive: true });
      writeFileAtomic(path.join(ckDir, 'weights.bin'), encodeWeights(weights));
      const optWeights = await optimizer.getWeights();
      writeFileAtomic(path.join(ckDir, 'optimizer.bin'), encodeEntries(optWeights.map((nt) => [nt.name, Float32Array.from(nt.tensor.dataSync()), nt.tensor.shape])));
      state.epoch = epoch;
      writeFileAtomic(path.join(ckDir, 'state.json'), JSON.stringify(state, (_k, v) => (v === -Infinity ? null : v)));
      o.onProgress?.({ epoch, epochs: tc.epochs, step: stepsPerEpoch, steps: stepsPerEpoch, stepsPerSecond: stepsPerEpoch / record.seconds, loss: record.loss, last: record, best: { epoch: state.bestEpoch, pMtl: state.history.find((h) => h.epoch === state.bestEpoch)?.pMtl ?? NaN } });
    }
    return { config: temporal, best, bestEpoch: state.bestEpoch, bestPerTask: state.bestPerTask, history: state.history, normalisation: stats };
  } finally {
    // also when stopped or failed: the variables' names must be free for the next run in this process
    model.dispose();
    optimizer.dispose();
  }
}

export { decodeWeights, encodeWeights };
