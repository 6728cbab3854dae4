/**
 * Runs a model bundle over feature sequences: each sequence is cut into segments of the bundle's
 * length, run in order, with the recurrent state of one segment fed to the next. Segments of the
 * same length from different sequences (other faces, other videos) run as one batch.
 */
import type { LoadedBundle } from '../../../models/bundle/manifest.js';
import { AUS, EXPRESSIONS, TASK_DIMS } from '../../../common/labels.js';
import { UserError } from '../../../common/errors.js';
import type { ModelSession, SessionFactory } from '../onnx/sessions.js';
import type { SequencePrediction } from './postprocess.js';
import { applyStats, FeatureMoments, type FeatureStats } from '../../../models/temporal/normalisation.js';

/** A sequence of feature rows, read segment by segment (so long videos need not sit in memory). */
export interface FeatureSequence {
  length: number;
  /** Rows [start, start + count) as a row-major count × dim array (a view of `into` where the reader fills it). */
  read(start: number, count: number, into?: Float32Array): Float32Array;
}

const MAX_BATCH = 16;

interface StateShape {
  name: string;
  outer: number;
  inner: number;
  dims: (number | 'batch')[];
}

export class BundleRunner {
  private readonly states: StateShape[];
  private batchBuffer = new Float32Array(0);

  private constructor(
    readonly bundle: LoadedBundle,
    private readonly session: ModelSession,
  ) {
    this.states = bundle.manifest.model.states.map((s) => {
      const at = s.dims.indexOf('batch');
      const prod = (d: (number | 'batch')[]) => d.reduce<number>((a, x) => a * (x as number), 1);
      return { name: s.name, outer: prod(s.dims.slice(0, at)), inner: prod(s.dims.slice(at + 1)), dims: s.dims };
    });
  }

  get provider(): string {
    return this.session.provider;
  }

  get dim(): number {
    return this.bundle.manifest.features.dim;
  }

  /** Opens the bundle's model and checks it against its manifest with one dry run. */
  static async open(bundle: LoadedBundle, sessions: SessionFactory): Promise<BundleRunner> {
    const m = bundle.manifest;
    const file = `${bundle.dir}/bundle.json`;
    const session = await sessions.create(bundle.modelPath, `${m.id}@${m.version}`);
    const need = (names: readonly string[], list: string[], what: string) => {
      const missing = list.filter((n) => !names.includes(n));
      if (missing.length) throw new UserError(`the model has no ${what} ${missing.join(', ')} (it has ${names.join(', ')})`, 'the manifest does not describe this model: fix "tasks"/"model.states" or reinstall the bundle', file);
    };
    need(session.inputNames, ['features', ...m.model.states.map((s) => `state_in.${s.name}`)], 'input');
    need(session.outputNames, [...m.tasks, ...m.model.states.map((s) => `state_out.${s.name}`)], 'output');
    const runner = new BundleRunner(bundle, session);
    try {
      await runner.runBatch([new Float32Array(m.features.dim * 2)], 2, [runner.zeroState()]);
    } catch (err) {
      throw new UserError(`the model does not accept the input the manifest describes (features.dim ${m.features.dim}): ${(err as Error).message.split('\n')[0]}`,
        'the manifest lies about the feature width: fix "features" or reinstall the bundle', file);
    }
    return runner;
  }

  private zeroState(): Map<string, Float32Array> {
    return new Map(this.states.map((s) => [s.name, new Float32Array(s.outer * s.inner)]));
  }

  /** Runs one batch of equal-length segments; returns raw outputs and the new states, per item. */
  private async runBatch(segments: Float32Array[], length: number, states: Map<string, Float32Array>[]) {
    const B = segments.length;
    const D = this.dim;
    // one segment goes in as it is; a batch of several is gathered into a buffer kept for the next
    let features = segments[0];
    if (B > 1 || features.length !== length * D) {
      if (this.batchBuffer.length < B * length * D) this.batchBuffer = new Float32Array(B * length * D);
      features = this.batchBuffer.subarray(0, B * length * D);
      segments.forEach((s, b) => features.set(s, b * length * D));
    }
    const feeds: Record<string, { data: Float32Array; dims: number[] }> = { features: { data: features, dims: [B, length, D] } };
    for (const s of this.states) {
      const data = new Float32Array(s.outer * B * s.inner);
      for (let b = 0; b < B; b++) {
        const item = states[b].get(s.name) as Float32Array;
        for (let o = 0; o < s.outer; o++) data.set(item.subarray(o * s.inner, (o + 1) * s.inner), (o * B + b) * s.inner);
      }
      feeds[`state_in.${s.name}`] = { data, dims: s.dims.map((d) => (d === 'batch' ? B : d)) };
    }
    const out = await this.session.run(feeds);
    const newStates = Array.from({ length: B }, () => new Map<string, Float32Array>());
    for (const s of this.states) {
      const data = out[`state_out.${s.name}`].data;
      for (let b = 0; b < B; b++) {
        const item = new Float32Array(s.outer * s.inner);
        for (let o = 0; o < s.outer; o++) item.set(data.subarray((o * B + b) * s.inner, (o * B + b + 1) * s.inner), o * s.inner);
        newStates[b].set(s.name, item);
      }
    }
    return { out, newStates };
  }

  /** Predictions for every frame of every sequence, in memory (short inputs: tests, a few frames). */
  async run(sequences: FeatureSequence[]): Promise<SequencePrediction[]> {
    const results: SequencePrediction[] = sequences.map((s) => {
      const p: SequencePrediction = {};
      for (const t of this.bundle.manifest.tasks) p[t] = new Float32Array(s.length * TASK_DIMS[t]);
      return p;
    });
    await this.stream(sequences, (r) => {
      for (const t of this.bundle.manifest.tasks) (results[r.sequence][t] as Float32Array).set(r.outputs[t] as Float32Array, r.start * TASK_DIMS[t]);
    });
    return results;
  }

  /**
   * Runs every sequence and hands over each segment's predictions as it is made (in order within a
   * sequence), so nothing the size of a video is kept. Sequences run in groups of at most MAX_BATCH
   * at a time (their recurrent states and statistics are all that is held); within a group, the
   * segments at the same step with the same length run as one batch.
   */
  async stream(sequences: FeatureSequence[], onSegment: (r: SegmentResult) => void | Promise<void>): Promise<void> {
    for (let first = 0; first < sequences.length; first += MAX_BATCH) {
      const group = sequences.slice(first, first + MAX_BATCH).map((s, i) => ({ s, index: first + i }));
      await this.streamGroup(group, onSegment);
    }
  }

  private async streamGroup(group: { s: FeatureSequence; index: number }[], onSegment: (r: SegmentResult) => void | Promise<void>): Promise<void> {
    const m = this.bundle.manifest;
    const L = m.model.segmentLength;
    const D = this.dim;
    // Each member reads its segments into a buffer of its own, reused from step to step: a long
    // video would otherwise leave megabytes of garbage per segment, and the peak memory of a run
    // would grow with the video until the collector caught up.
    const buffers = group.map(({ s }) => new Float32Array(Math.min(L, s.length) * D));
    const norms = m.features.normalization === 'per-sequence' ? group.map(({ s }, i) => sequenceStats(s, D, L, buffers[i])) : undefined;
    const states = group.map(() => this.zeroState());
    const steps = Math.max(0, ...group.map(({ s }) => Math.ceil(s.length / L)));
    for (let step = 0; step < steps; step++) {
      // members with a segment at this step, grouped by that segment's length
      const byLength = new Map<number, number[]>();
      group.forEach(({ s }, i) => {
        const len = Math.min(L, s.length - step * L);
        if (len > 0) byLength.set(len, [...(byLength.get(len) ?? []), i]);
      });
      for (const [len, members] of byLength) {
        const segs = members.map((i) => {
          const rows = group[i].s.read(step * L, len, buffers[i]);
          if (rows.length !== len * D) throw new Error(`sequence ${group[i].index}: read ${rows.length} values for ${len} rows of ${D}`);
          const norm = norms?.[i];
          return norm ? applyStats(rows, norm) : rows;
        });
        const { out, newStates } = await this.runBatch(segs, len, members.map((i) => states[i]));
        for (const [b, i] of members.entries()) {
          states[i] = newStates[b];
          const outputs: SequencePrediction = {};
          for (const t of m.tasks) {
            const k = TASK_DIMS[t];
            const src = out[t].data.subarray(b * len * k, (b + 1) * len * k);
            const dst = new Float32Array(len * k);
            if (t === 'valence' || t === 'arousal') for (let j = 0; j < len; j++) dst[j] = Math.max(-1, Math.min(1, src[j]));
            else if (t === 'expression') softmaxRows(src, dst, EXPRESSIONS.length);
            else for (let j = 0; j < len * AUS.length; j++) dst[j] = 1 / (1 + Math.exp(-src[j]));
            outputs[t] = dst;
          }
          await onSegment({ sequence: group[i].index, start: step * L, length: len, outputs });
        }
      }
    }
  }
}

/** The predictions of one segment: frames [start, start + length) of sequence `sequence`. */
export interface SegmentResult {
  sequence: number;
  start: number;
  length: number;
  outputs: SequencePrediction;
}

function softmaxRows(src: Float32Array, dst: Float32Array, k: number): void {
  for (let r = 0; r < src.length / k; r++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, src[r * k + j]);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += (dst[r * k + j] = Math.exp(src[r * k + j] - max));
    for (let j = 0; j < k; j++) dst[r * k + j] /= sum;
  }
}

/** Mean and standard deviation of each feature over a whole sequence (per-sequence z-score, as in training). */
function sequenceStats(s: FeatureSequence, D: number, chunk: number, buffer: Float32Array): FeatureStats {
  const moments = new FeatureMoments(D);
  for (let start = 0; start < s.length; start += chunk) moments.add(s.read(start, Math.min(chunk, s.length - start), buffer));
  return moments.stats();
}
