/**
 * Pre-fill and import merge into empty time only: the annotator's own items survive, the summary
 * says what the operations do, and the inverse operations undo them exactly.
 */
import { describe, expect, it } from 'vitest';
import { mergeProposal } from '../../common/annotation-merge.js';
import { AnnotationOpSchema, applyOp, applyOps, emptyDoc, inverseOps, segmentAt, traceValueAt, type AnnotationDoc, type AnnotationOp } from '../../common/annotations.js';

const video = { path: '/v.mp4', name: 'v.mp4' };
const ids = () => {
  let n = 0;
  return (kind: string) => `${kind}-new-${n++}`;
};
const samples = (from: number, to: number, step: number, v: number, a: number): [number, number, number][] =>
  Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => [from + i * step, v, a]);

/** An annotator who coded Happiness over [1, 2), AU12 over [1, 2), rated valence only over [1, 2] and both over [3, 4]. */
function annotated(): AnnotationDoc {
  const doc = emptyDoc(video, 'ana', '2026-01-01T00:00:00Z');
  doc.segments.push({ id: 'mine', start: 1, end: 2, cls: 4, source: 'human' });
  doc.aus.push({ id: 'my-au', au: 'AU12', start: 1, end: 2, source: 'human' });
  doc.traces.push({ id: 'take-v', dims: 'valence', input: 'mouse', started: 'a', samples: samples(1, 2, 0.1, 0.9, 0) });
  doc.traces.push({ id: 'take-va', dims: 'va', input: 'gamepad', started: 'b', samples: samples(3, 4, 0.1, 0.8, 0.7) });
  return doc;
}

/** A model's suggestions over [0, 5). */
function suggested(): AnnotationDoc {
  const doc = emptyDoc(video, 'ana', '2026-01-01T00:00:00Z');
  doc.segments.push(
    { id: 'm-e-0', start: 0, end: 1.5, cls: 0, source: 'model', confidence: 0.9 },
    { id: 'm-e-1', start: 1.5, end: 3, cls: 6, source: 'model', confidence: 0.4 },
    { id: 'm-e-2', start: 3, end: 4, cls: 2, source: 'model', confidence: 0.7 },
    { id: 'm-e-3', start: 1.99, end: 2.01, cls: 5, source: 'model', confidence: 0.5 }, // leaves a 0.01 s sliver
  );
  doc.aus.push(
    { id: 'm-AU12-0', au: 'AU12', start: 0, end: 3, source: 'model', confidence: 0.8 },
    { id: 'm-AU6-1', au: 'AU6', start: 0, end: 3, source: 'model', confidence: 0.6 },
  );
  doc.traces.push({ id: 'model-va', dims: 'va', input: 'model', started: 'c', samples: samples(0, 5, 0.1, -0.5, -0.4) });
  return doc;
}

describe('merging suggestions into an annotator\'s tier', () => {
  const before = annotated();
  const proposal = mergeProposal(before, suggested(), { newId: ids() });
  const after = applyOps(before, proposal.ops);

  it('every operation is valid for the API', () => {
    for (const op of proposal.ops) expect(AnnotationOpSchema.safeParse(op).success).toBe(true);
  });

  it("keeps every item of the annotator's, unchanged", () => {
    for (const s of before.segments) expect(after.segments).toContainEqual(s);
    for (const r of before.aus) expect(after.aus).toContainEqual(r);
    for (const t of before.traces) expect(after.traces).toContainEqual(t);
    expect(segmentAt(after, 1.5)).toBe(4);
    // where the annotator rated valence only, the model fills arousal only
    expect(traceValueAt(after, 1.5)).toEqual({ valence: 0.9, arousal: -0.4 });
    expect(traceValueAt(after, 3.5)).toEqual({ valence: 0.8, arousal: 0.7 });
  });

  it('fills the empty time, clipping suggestions to it and dropping slivers', () => {
    const added = after.segments.filter((s) => s.source === 'model').map((s) => [s.start, s.end, s.cls]);
    expect(added).toEqual([[0, 1, 0], [2, 3, 6], [3, 4, 2]]);
    expect(segmentAt(after, 0.5)).toBe(0);
    expect(segmentAt(after, 2.5)).toBe(6);
    const au12 = after.aus.filter((r) => r.au === 'AU12' && r.source === 'model').map((r) => [r.start, r.end]);
    expect(au12).toEqual([[0, 1], [2, 3]]);
    expect(after.aus.filter((r) => r.au === 'AU6').map((r) => [r.start, r.end])).toEqual([[0, 3]]);
    expect(traceValueAt(after, 0.5)).toEqual({ valence: -0.5, arousal: -0.4 });
    expect(traceValueAt(after, 4.5)).toEqual({ valence: -0.5, arousal: -0.4 });
    // model pieces: [0, 0.9] va, [1, 2] arousal, [2.1, 2.9] va, [4.1, 5] va
    const pieces = after.traces.filter((t) => t.input === 'model').map((t) => [t.dims, t.samples[0][0], t.samples[t.samples.length - 1][0]]);
    expect(pieces.map((p) => p[0])).toEqual(['va', 'arousal', 'va', 'va']);
    expect(pieces.map((p) => [(p[1] as number).toFixed(1), (p[2] as number).toFixed(1)])).toEqual([['0.0', '0.9'], ['1.0', '2.0'], ['2.1', '2.9'], ['4.1', '5.0']]);
  });

  it('the summary counts what the operations add, keep and clip', () => {
    expect(proposal.summary).toEqual({ segments: 3, aus: 3, traces: 4, keptSegments: 1, keptAus: 1, keptTraces: 2, clipped: 5 });
    expect(after.segments.length - before.segments.length).toBe(proposal.summary.segments);
    expect(after.aus.length - before.aus.length).toBe(proposal.summary.aus);
    expect(after.traces.length - before.traces.length).toBe(proposal.summary.traces);
  });

  it('the inverse operations restore the document exactly (undo)', () => {
    let doc = before;
    const undo: AnnotationOp[][] = [];
    for (const op of proposal.ops) {
      undo.push(inverseOps(doc, op));
      doc = applyOp(doc, op);
    }
    expect(doc).toEqual(after);
    const restored = undo.reverse().reduce((d, ops) => applyOps(d, ops), doc);
    expect(restored).toEqual(before);
  });

  it('ids are fresh; an empty tier takes the suggestions whole', () => {
    const blank = emptyDoc(video, 'bob', 'now');
    const all = mergeProposal(blank, suggested());
    const addedIds = all.ops.flatMap((op) => (op.type === 'segment.add' ? [op.segment.id] : op.type === 'au.add' ? [op.range.id] : op.type === 'trace.start' ? [op.trace.id] : []));
    expect(new Set(addedIds).size).toBe(addedIds.length);
    expect(addedIds.some((id) => suggested().segments.some((s) => s.id === id))).toBe(false);
    // the overlapping sliver suggestion is the last one added, so it is kept whole where nothing else is
    expect(all.summary).toMatchObject({ segments: 4, aus: 2, traces: 1, clipped: 0, keptSegments: 0 });
  });

  it('a long trace travels in operations of at most 10 000 samples', () => {
    const blank = emptyDoc(video, 'bob', 'now');
    const long = emptyDoc(video, 'bob', 'now');
    long.traces.push({ id: 'import-va', dims: 'va', input: 'import', started: 'now', samples: samples(0, 900, 0.04, 0.1, 0.2) });
    const p = mergeProposal(blank, long);
    const chunks = p.ops.filter((op) => op.type === 'trace.samples');
    expect(chunks.length).toBe(3);
    expect(chunks.reduce((n, op) => n + (op.type === 'trace.samples' ? op.samples.length : 0), 0)).toBe(22501);
    expect(p.ops[0]).toMatchObject({ type: 'trace.start', trace: { input: 'import' } });
  });
});
