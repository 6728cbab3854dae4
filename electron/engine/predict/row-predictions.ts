/**
 * One bundle's smoothed predictions for every row of a video's table, kept in a scratch file of
 * fixed-width float32 records (row i at byte i × width × 4). The temporal model hands over segments
 * sequence by sequence; the CSV is written in row order, faces of a frame together. The file sits
 * between the two, so nothing the size of the video is ever held in memory: only, per sequence in
 * flight, the few rows whose smoothed valence/arousal still wait for the frames after them.
 */
import { closeSync, ftruncateSync, openSync, readSync, rmSync } from 'node:fs';
import { TASK_DIMS, type Task } from '../../../common/labels.js';
import { writeAll } from '../../../common/node/storage.js';
import { StreamingSmoother } from '../../../models/temporal/smoothing.js';
import type { TrackSequence } from '../../../models/temporal/sequences.js';
import type { SequencePrediction } from '../temporal/postprocess.js';
import type { SegmentResult } from '../temporal/runner.js';

/** Rows of one sequence received but not yet written (their smoothed V/A are not final yet). */
interface InFlight {
  /** Index within the sequence of the first pending row. */
  next: number;
  pending: Float32Array[];
  smoothers: Partial<Record<'valence' | 'arousal', { smoother: StreamingSmoother; filled: number }>>;
}

/** Consecutive rows are written with one call (one face: every row; several: runs of them). */
const RUN_ROWS = 256;

export class RowPredictionFile {
  readonly width: number;
  private readonly offsets: Partial<Record<Task, number>> = {};
  private readonly fd: number;
  private readonly inFlight = new Map<number, InFlight>();
  private run: { first: number; count: number; data: Float32Array };

  constructor(
    readonly file: string,
    rows: number,
    readonly tasks: readonly Task[],
    private readonly smoothing: { valence: number; arousal: number },
    private readonly sequences: readonly TrackSequence[],
  ) {
    let width = 0;
    for (const t of tasks) {
      this.offsets[t] = width;
      width += TASK_DIMS[t];
    }
    this.width = width;
    this.fd = openSync(file, 'w+');
    // rows never written (no face) read back as zeros; they are never used
    ftruncateSync(this.fd, rows * width * 4);
    this.run = { first: 0, count: 0, data: new Float32Array(RUN_ROWS * width) };
  }

  /** Takes one segment's predictions (segments of a sequence arrive in order). */
  accept(seg: SegmentResult): void {
    const seq = this.sequences[seg.sequence];
    let state = this.inFlight.get(seg.sequence);
    if (!state) {
      state = { next: 0, pending: [], smoothers: {} };
      for (const t of ['valence', 'arousal'] as const) {
        if (this.tasks.includes(t)) state.smoothers[t] = { smoother: new StreamingSmoother(this.smoothing[t], seq.rows.length), filled: 0 };
      }
      this.inFlight.set(seg.sequence, state);
    }
    for (let i = 0; i < seg.length; i++) {
      const record = new Float32Array(this.width);
      for (const t of this.tasks) {
        if (t === 'valence' || t === 'arousal') continue;
        const k = TASK_DIMS[t];
        record.set((seg.outputs[t] as Float32Array).subarray(i * k, (i + 1) * k), this.offsets[t]);
      }
      state.pending.push(record);
    }
    for (const t of ['valence', 'arousal'] as const) {
      const s = state.smoothers[t];
      if (!s) continue;
      const values = s.smoother.push(seg.outputs[t] as Float32Array);
      // value i is that of row (filled + i) of the sequence, pending at (filled + i − next)
      for (let i = 0; i < values.length; i++) state.pending[s.filled + i - state.next][this.offsets[t] as number] = values[i];
      s.filled += values.length;
    }
    // rows whose V and A are both final go to the file
    const ready = Math.min(state.next + state.pending.length, ...Object.values(state.smoothers).map((s) => s.filled));
    while (state.next < ready) {
      this.put(seq.rows[state.next], state.pending.shift() as Float32Array);
      state.next++;
    }
    if (state.next === seq.rows.length) this.inFlight.delete(seg.sequence);
  }

  private put(row: number, record: Float32Array): void {
    const r = this.run;
    if (r.count && (row !== r.first + r.count || r.count === RUN_ROWS)) this.flush();
    if (!r.count) r.first = row;
    r.data.set(record, r.count * this.width);
    r.count++;
  }

  private flush(): void {
    const r = this.run;
    if (!r.count) return;
    writeAll(this.fd, new Uint8Array(r.data.buffer, 0, r.count * this.width * 4), r.first * this.width * 4);
    r.count = 0;
  }

  /** Call after the last segment, before reading. */
  finish(): void {
    if (this.inFlight.size) throw new Error(`internal: ${this.inFlight.size} sequence(s) not predicted to their end`);
    this.flush();
  }

  /** The predictions of rows [start, start + count), one array per task (rows × task width). */
  read(start: number, count: number): SequencePrediction {
    const data = new Float32Array(count * this.width);
    readSync(this.fd, new Uint8Array(data.buffer), 0, data.byteLength, start * this.width * 4);
    const out: SequencePrediction = {};
    for (const t of this.tasks) {
      const k = TASK_DIMS[t];
      const o = this.offsets[t] as number;
      const values = new Float32Array(count * k);
      for (let i = 0; i < count; i++) values.set(data.subarray(i * this.width + o, i * this.width + o + k), i * k);
      out[t] = values;
    }
    return out;
  }

  /** Closes and deletes the scratch file. */
  remove(): void {
    try {
      closeSync(this.fd);
    } finally {
      rmSync(this.file, { force: true });
    }
  }
}
