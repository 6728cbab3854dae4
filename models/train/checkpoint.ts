/**
 * A training run's files between epochs, so a killed run resumes from its last finished epoch:
 * `checkpoint/` holds the weights, the optimizer's moments and where the run was; `best.bin` and
 * `best-<task>.bin` hold the best weights overall and per task. Arrays are stored as one JSON header
 * (names, lengths, shapes) followed by the raw float32 data.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Task } from '../../common/labels.js';
import { readJsonFile, writeFileAtomic } from '../../common/node/storage.js';
import type { Weights } from '../temporal/params.js';
import type { EpochRecord } from './trainer.js';
import { tf } from './tf.js';

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

export const encodeWeights = (w: Weights): Buffer => encodeEntries([...w].map(([n, d]) => [n, d, [d.length]]));
export const decodeWeights = (buf: Buffer): Weights => new Map(decodeEntries(buf).map(([n, d]) => [n, d]));

/** Where a run is: what a resumed run needs besides the arrays. */
export interface RunState {
  /** Last finished epoch. */
  epoch: number;
  /** Optimisation steps taken so far (the learning-rate schedule's clock). */
  step: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestPerTask: Record<Task, { epoch: number; score: number }>;
}

export const freshRunState = (): RunState => ({
  epoch: 0, step: 0, history: [], bestEpoch: 0,
  bestPerTask: { valence: { epoch: 0, score: -Infinity }, arousal: { epoch: 0, score: -Infinity }, expression: { epoch: 0, score: -Infinity }, au: { epoch: 0, score: -Infinity } },
});

// JSON has no NaN or −∞: both are written as null, and read back as what they stood for
const toJson = (state: RunState): string => JSON.stringify(state);
function fromJson(raw: RunState): RunState {
  const num = (x: number | null, absent: number) => (x === null ? absent : x);
  for (const t of Object.values(raw.bestPerTask)) t.score = num(t.score, -Infinity);
  for (const h of raw.history) {
    const rec = h as unknown as Record<string, number | null>;
    for (const k of Object.keys(rec)) rec[k] = num(rec[k], NaN);
  }
  return raw;
}

type Optimizer = ReturnType<typeof tf.train.adam>;

export class Checkpoint {
  constructor(private readonly outDir: string) {}

  private get dir(): string {
    return path.join(this.outDir, 'checkpoint');
  }

  exists(): boolean {
    return existsSync(path.join(this.dir, 'state.json'));
  }

  /** Restores the optimizer's moments; returns the run state, the last weights and the best ones. */
  async load(optimizer: Optimizer): Promise<{ state: RunState; weights: Weights; best: Weights }> {
    const hint = 'the checkpoint is damaged: delete the checkpoint/ folder to start the run again';
    const state = fromJson(readJsonFile(path.join(this.dir, 'state.json'), hint) as RunState);
    const weights = decodeWeights(readFileSync(path.join(this.dir, 'weights.bin')));
    const best = decodeWeights(readFileSync(path.join(this.outDir, 'best.bin')));
    const opt = decodeEntries(readFileSync(path.join(this.dir, 'optimizer.bin')));
    await optimizer.setWeights(opt.map(([name, data, shape]) => ({ name, tensor: name === 'iter' ? tf.scalar(data[0], 'int32') : tf.tensor(data, shape) })));
    return { state, weights, best };
  }

  /** Saves the best weights (overall, and per task when `tasks` improved this epoch). */
  saveBest(best: Weights, improved: { task: Task; weights: Weights }[]): void {
    for (const { task, weights } of improved) writeFileAtomic(path.join(this.outDir, `best-${task}.bin`), encodeWeights(weights));
    writeFileAtomic(path.join(this.outDir, 'best.bin'), encodeWeights(best));
  }

  /** The best weights of one task's validation score (absent when the task never scored). */
  bestOf(task: Task): Weights | undefined {
    const file = path.join(this.outDir, `best-${task}.bin`);
    return existsSync(file) ? decodeWeights(readFileSync(file)) : undefined;
  }

  /** The end-of-epoch checkpoint; state.json goes last, so a run killed before it redoes the epoch. */
  async save(weights: Weights, optimizer: Optimizer, state: RunState): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(path.join(this.dir, 'weights.bin'), encodeWeights(weights));
    const moments = await optimizer.getWeights();
    writeFileAtomic(path.join(this.dir, 'optimizer.bin'), encodeEntries(moments.map((nt) => [nt.name, Float32Array.from(nt.tensor.dataSync()), nt.tensor.shape])));
    writeFileAtomic(path.join(this.dir, 'state.json'), toJson(state));
  }
}
