/**
 * The streaming parts of `predict` give exactly what the whole-array versions gave: the moving
 * average pushed in pieces, the sequences of a table read row by row, a bundle's segments through
 * the scratch file, and the prediction files written row by row (the ABAW layout's nearest-frame
 * rule included).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { StreamingSmoother, smooth } from '../../models/temporal/smoothing.js';
import { buildSequences, SequenceBuilder, type TrackSequence } from '../../models/temporal/sequences.js';
import { loadBundle } from '../../models/bundle/manifest.js';
import { BundleRunner, type FeatureSequence } from '../../electron/engine/temporal/runner.js';
import { smoothPrediction } from '../../electron/engine/temporal/postprocess.js';
import { RowPredictionFile } from '../../electron/engine/predict/row-predictions.js';
import { SessionFactory } from '../../electron/engine/onnx/sessions.js';
import { nativeCsv, openFaceCsv, predictionWriter, pyFeatCsv, type TableSummary } from '../../electron/engine/export/prediction-csv.js';
import type { PredictionRow } from '../../electron/engine/predict/predictor.js';
import { AUS, EXPRESSIONS, TASK_DIMS, topExpression } from '../../common/labels.js';
import { randomGruBundle } from '../helpers/bundles.js';
import { freshDir } from '../helpers/fixtures.js';
import { rowsFromFiles, type FeatureFile } from '../../models/data/feature-rows.js';
import { NpyWriter, readNpyHeader, readNpyRows } from '../../models/data/npy.js';

/** A small deterministic generator, so a failure can be rerun. */
function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) / 2147483647);
}

describe('StreamingSmoother', () => {
  it('gives the bytes smooth() gives, however the values arrive', () => {
    const rnd = random(7);
    for (const n of [0, 1, 2, 3, 17, 250, 613]) {
      for (const w of [0, 1, 2, 5, 30, 700]) {
        const values = Float32Array.from({ length: n }, () => rnd() * 2 - 1);
        const whole = smooth(values, w);
        for (const chunk of [1, 7, 250, 1000]) {
          const s = new StreamingSmoother(w, n);
          const parts: number[] = [];
          for (let i = 0; i < n; i += chunk) parts.push(...s.push(values.subarray(i, i + chunk)));
          expect(Float32Array.from(parts), `n ${n}, w ${w}, chunks of ${chunk}`).toEqual(whole);
        }
      }
    }
  });

  it('holds back only the w values that wait for the frames after them', () => {
    const s = new StreamingSmoother(3, 100);
    expect(s.push(new Float32Array(10))).toHaveLength(7);
    expect(s.push(new Float32Array(2))).toHaveLength(2);
    expect(s.push(new Float32Array(88))).toHaveLength(91);
    expect(() => s.push(new Float32Array(1))).toThrow(/101 values for a sequence of 100/);
  });
});

describe('SequenceBuilder', () => {
  it('builds, row by row, the sequences of the documented rule', () => {
    // face 0 on frames 1–5, gone for 2 frames, back on 8–9, gone for 4, back on 14; face 1 on 3–4
    const rows = [
      { frame: 1, faceId: 0 }, { frame: 2, faceId: 0 }, { frame: 3, faceId: 0 }, { frame: 3, faceId: 1 }, { frame: 4, faceId: 0 }, { frame: 4, faceId: 1 },
      { frame: 5, faceId: 0 }, { frame: 6 }, { frame: 7 }, { frame: 8, faceId: 0 }, { frame: 9, faceId: 0 }, { frame: 10 }, { frame: 11 }, { frame: 12 }, { frame: 13 },
      { frame: 14, faceId: 0 },
    ];
    const b = new SequenceBuilder(3);
    for (const r of rows) b.add(r);
    const expected: TrackSequence[] = [
      { faceId: 0, rows: [0, 1, 2, 4, 6, 9, 10] }, // a gap of 2 frames is bridged
      { faceId: 1, rows: [3, 5] },
      { faceId: 0, rows: [15] }, // a gap of 4 is not
    ];
    expect(b.finish()).toEqual(expected);
    expect(buildSequences(rows, 3)).toEqual(expected);
  });
});

describe('a bundle through the scratch file', () => {
  let runner: BundleRunner;
  let dim: number;
  beforeAll(async () => {
    const dir = randomGruBundle(path.join(freshDir('bundle'), 'gru'), [{ id: 'landmarks', version: '1', dim: 12 }]);
    runner = await BundleRunner.open(loadBundle(dir), new SessionFactory({ provider: 'cpu' }));
    dim = runner.dim;
  });

  it('gives, row by row, the smoothed predictions of the whole-sequence run (segments, state, smoothing)', async () => {
    const rnd = random(11);
    // three faces over 400 rows: one long track (several 50-frame segments), two short ones
    const rows = 400;
    const owner = Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? 0 : i % 3 === 1 && i < 130 ? 1 : i > 300 ? 2 : -1));
    const features = Float32Array.from({ length: rows * dim }, () => rnd() * 2 - 1);
    const sequences = [0, 1, 2].map((id) => ({ faceId: id, rows: owner.flatMap((o, i) => (o === id ? [i] : [])) }));
    const seq = (s: TrackSequence): FeatureSequence => ({
      length: s.rows.length,
      read: (start, count) => {
        const out = new Float32Array(count * dim);
        for (let i = 0; i < count; i++) out.set(features.subarray(s.rows[start + i] * dim, (s.rows[start + i] + 1) * dim), i * dim);
        return out;
      },
    });
    const smoothing = { valence: 4, arousal: 9 };
    const whole = (await runner.run(sequences.map(seq))).map((p) => smoothPrediction(p, smoothing));
    const file = new RowPredictionFile(path.join(freshDir('scratch'), 'p.f32'), rows, runner.bundle.manifest.tasks, smoothing, sequences);
    try {
      await runner.stream(sequences.map(seq), (r) => file.accept(r));
      file.finish();
      const read = file.read(0, rows);
      sequences.forEach((s, k) => s.rows.forEach((row, t) => {
        for (const task of runner.bundle.manifest.tasks) {
          const d = TASK_DIMS[task];
          expect(Array.from((read[task] as Float32Array).subarray(row * d, (row + 1) * d)), `face ${k} row ${row} ${task}`).toEqual(Array.from((whole[k][task] as Float32Array).subarray(t * d, (t + 1) * d)));
        }
      }));
    } finally {
      file.remove();
    }
  });
});

/** Rows like predict's: frames 1–n, a face on most, a second one on some, none on others. */
function predictionRows(n: number, rnd: () => number, faceOf: (frame: number) => number[]): PredictionRow[] {
  const rows: PredictionRow[] = [];
  for (let frame = 1; frame <= n; frame++) {
    const faces = faceOf(frame);
    if (!faces.length) rows.push({ frame, timestamp: (frame - 1) / 30 });
    for (const faceId of faces) {
      const expression = Float32Array.from({ length: EXPRESSIONS.length }, () => rnd());
      rows.push({
        frame, timestamp: (frame - 1) / 30, faceId, faceScore: rnd(), box: { x: rnd() * 100, y: rnd() * 100, w: 50, h: 60 },
        valence: rnd() * 2 - 1, arousal: rnd() * 2 - 1, expression, au: Float32Array.from({ length: AUS.length }, () => rnd()),
        pose: Float32Array.from({ length: 6 }, () => rnd() - 0.5), gaze: frame % 7 ? Float32Array.from({ length: 8 }, () => rnd() - 0.5) : undefined,
      });
    }
  }
  return rows;
}

function summary(rows: PredictionRow[]): TableSummary {
  const perFace = new Map<number, number>();
  for (const r of rows) if (r.faceId !== undefined) perFace.set(r.faceId, (perFace.get(r.faceId) ?? 0) + 1);
  const frames = new Set(rows.map((r) => r.frame)).size;
  const faceFrames = new Set(rows.filter((r) => r.faceId !== undefined).map((r) => r.frame)).size;
  return { rows: rows.length, frames, faceFrames, faceRows: rows.filter((r) => r.faceId !== undefined).length, perFace };
}

function written(format: 'native' | 'openface' | 'pyfeat' | 'abaw', rows: PredictionRow[], thresholds: number[]): { text: string; warnings: string[] } {
  const file = path.join(freshDir('pred'), `x.${format}`);
  const w = predictionWriter(file, format, 'vid', thresholds, '/data/vid.mp4');
  w.begin(summary(rows));
  for (const r of rows) w.write(r);
  const warnings = w.finish();
  return { text: readFileSync(file, 'utf8'), warnings };
}

/** The ABAW rule, written the plain way (all rows at hand): the reference the streaming writer must match. */
function abawReference(video: string, rows: PredictionRow[], thresholds: number[]): string[] {
  const counts = new Map<number, number>();
  for (const r of rows) if (r.faceId !== undefined) counts.set(r.faceId, (counts.get(r.faceId) ?? 0) + 1);
  const main = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
  const frames = [...new Set(rows.map((r) => r.frame))];
  const byFrame = new Map(rows.filter((r) => main !== undefined && r.faceId === main).map((r) => [r.frame, r]));
  const known = [...byFrame.keys()];
  return frames.map((frame) => {
    let best: number | undefined;
    for (const k of known) if (best === undefined || Math.abs(k - frame) < Math.abs(best - frame) || (Math.abs(k - frame) === Math.abs(best - frame) && k > best)) best = k;
    const r = best === undefined ? undefined : byFrame.get(best);
    const image = `${video}/${String(frame).padStart(5, '0')}.jpg`;
    if (!r) return `${image},0,0,0,${AUS.map(() => '0').join(',')}`;
    return `${image},${(r.valence as number).toFixed(4)},${(r.arousal as number).toFixed(4)},${topExpression(r.expression as Float32Array)},${AUS.map((_, i) => ((r.au as Float32Array)[i] >= thresholds[i] ? '1' : '0')).join(',')}`;
  });
}

describe('prediction files written row by row', () => {
  const thresholds = AUS.map((_, i) => 0.3 + i * 0.03);
  const rnd = random(5);
  // face 0 most of the time, gone on frames 20–34 and 61–70; face 1 on 10–40; nobody on 90–95
  const rows = predictionRows(120, rnd, (f) => [...((f >= 20 && f < 35) || (f > 60 && f <= 70) || (f >= 90 && f <= 95) ? [] : [0]), ...(f >= 10 && f <= 40 ? [1] : [])]);

  it('native, OpenFace and Py-Feat: the same text as formatting all rows at once', () => {
    expect(written('native', rows, thresholds).text).toBe(nativeCsv(rows));
    expect(written('openface', rows, thresholds).text).toBe(openFaceCsv(rows, thresholds));
    expect(written('pyfeat', rows, thresholds).text).toBe(pyFeatCsv(rows, '/data/vid.mp4'));
  });

  it('ABAW: the main face, every frame, missing frames from the nearest frame (the later on a tie), with the warnings', () => {
    const { text, warnings } = written('abaw', rows, thresholds);
    expect(text.trim().split('\n')).toEqual(['image,valence,arousal,expression,aus', ...abawReference('vid', rows, thresholds)]);
    expect(warnings).toEqual([
      'ABAW output: face 0 is missing in 31 of 120 frames; those rows repeat the nearest frame\'s prediction',
      'ABAW output: 2 faces seen; only face 0 (in the most frames) is written',
    ]);
    // the tie: frames 20–34 are 15 frames between 19 and 35; frame 27 is 8 from both and takes 35's
    const lines = text.trim().split('\n');
    expect(lines[27].slice(lines[27].indexOf(','))).toBe(lines[35].slice(lines[35].indexOf(',')));
    expect(lines[26].slice(lines[26].indexOf(','))).toBe(lines[19].slice(lines[19].indexOf(',')));
  });

  it('ABAW without any face: the placeholder on every frame, said as a warning', () => {
    const none = predictionRows(40, rnd, () => []);
    const { text, warnings } = written('abaw', none, thresholds);
    expect(text.trim().split('\n').slice(1)).toEqual(abawReference('vid', none, thresholds));
    expect(warnings).toEqual(['ABAW output: no face in any of the 40 frames; every row is the placeholder V 0, A 0, Neutral, no AU (not a prediction)']);
  });

  it('an abandoned file leaves nothing behind, and the file appears only when finished', () => {
    const dir = freshDir('pred');
    const file = path.join(dir, 'x.csv');
    const w = predictionWriter(file, 'native', 'vid', thresholds);
    w.begin(summary(rows));
    for (const r of predictionRows(2000, rnd, () => [0])) w.write(r);
    w.abandon();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('feature rows read from the files', () => {
  it('give the same values read fresh or into a reused buffer, and the reused buffer is what comes back', () => {
    const dir = freshDir('feature-rows');
    const rnd = random(11);
    const write = (name: string, cols: number, rows: number): FeatureFile => {
      const file = path.join(dir, name);
      const w = new NpyWriter(file, cols);
      for (let r = 0; r < rows; r++) w.append(Float32Array.from({ length: cols }, () => rnd()));
      w.close();
      return { file, info: readNpyHeader(file) };
    };
    const a = write('a.npy', 5, 40);
    const b = write('b.npy', 3, 40);
    // every other row: a face sharing frames with another one; columns 1–2 and 4 of a, all of b
    const rows = Array.from({ length: 20 }, (_, i) => 2 * i + 1);
    const seq = rowsFromFiles([{ ...a, columns: [[1, 2], [4, 1]] }, b], rows);
    expect(seq.dim).toBe(6);
    const into = new Float32Array(7 * seq.dim);
    const firstFresh = seq.read(2, 7);
    const firstReused = seq.read(2, 7, into);
    expect(firstReused.buffer).toBe(into.buffer);
    expect(firstReused).toEqual(firstFresh);
    const second = seq.read(10, 5, into);
    expect(second.buffer).toBe(into.buffer);
    expect(second).toEqual(seq.read(10, 5));
    expect(firstFresh).toEqual(seq.read(2, 7)); // a fresh read is the caller's own
    // what the reader saw, by hand: row 2 of the sequence is file row 5
    const rowA = readNpyRows(a.file, a.info, 5, 1);
    const rowB = readNpyRows(b.file, b.info, 5, 1);
    expect(Array.from(firstFresh.subarray(0, 6))).toEqual([rowA[1], rowA[2], rowA[4], rowB[0], rowB[1], rowB[2]]);
    // a buffer too short is not written past: a fresh array comes back
    const short = new Float32Array(3);
    expect(seq.read(0, 2, short).buffer).not.toBe(short.buffer);
  });
});
