import { describe, expect, it } from 'vitest';
import { clampView, columnMax, follow, frameAt, pan, seekTimeOfFrame, timeToX, visibleRange, xToTime, zoomAt } from '../../renderer/src/lib/timeline-math.js';
import { runs } from '../../common/runs.js';
import { mergeSources } from '../../renderer/src/lib/series.js';
import { UndoStack } from '../../renderer/src/lib/undo.js';
import { applyOps, emptyDoc, segmentAt, traceValueAt } from '../../common/annotations.js';
import type { AnnotationOp } from '../../common/annotations.js';

describe('timeline arithmetic', () => {
  it('zooms around the pointer and stays inside the video', () => {
    const v = zoomAt({ start: 0, end: 100 }, 50, 0.5, 100);
    expect(v).toEqual({ start: 25, end: 75 });
    expect(zoomAt({ start: 0, end: 100 }, 10, 4, 100)).toEqual({ start: 0, end: 100 });
    expect(clampView({ start: 95, end: 110 }, 100)).toEqual({ start: 85, end: 100 });
    expect(clampView({ start: 10, end: 10.01 }, 100).end - 10).toBeCloseTo(0.5);
    expect(pan({ start: 10, end: 20 }, -15, 100)).toEqual({ start: 0, end: 10 });
  });

  it('maps time to pixels and back', () => {
    const v = { start: 10, end: 20 };
    expect(timeToX(15, v, 200)).toBe(100);
    expect(xToTime(50, v, 200)).toBe(12.5);
  });

  it('follows the playhead by paging', () => {
    expect(follow({ start: 0, end: 10 }, 5, 100)).toEqual({ start: 0, end: 10 });
    expect(follow({ start: 0, end: 10 }, 12, 100)).toEqual({ start: 11, end: 21 });
  });

  it('finds the samples in view, with one beyond each edge', () => {
    const times = [0, 1, 2, 3, 4, 5];
    expect(visibleRange(times, { start: 1.5, end: 3.5 })).toEqual([1, 5]);
    expect(visibleRange(times, { start: -5, end: -1 })).toEqual([0, 1]);
  });

  it('draws a long video as per-pixel columns, keeping short peaks', () => {
    // 30 minutes at 30 fps in a 1000-pixel timeline: 54 000 samples → 1000 columns
    const n = 54_000;
    const times = Float64Array.from({ length: n }, (_, i) => i / 30);
    const values = (i: number) => (i === 27_000 ? 1 : 0.1);
    const cols = columnMax(times, values, { start: 0, end: n / 30 }, 1000);
    expect(cols.length).toBe(1000);
    expect(cols[500]).toBe(1); // the one-frame peak survives
    expect(cols[10]).toBeCloseTo(0.1);
  });

  it('groups equal neighbours into runs (the expression ribbon)', () => {
    const v = [2, 2, 4, 4, 4, 2];
    expect(runs((i) => v[i], 0, 6)).toEqual([{ from: 0, to: 2, value: 2 }, { from: 2, to: 5, value: 4 }, { from: 5, to: 6, value: 2 }]);
  });
  it('runs skip unlabelled items and break where the items are not contiguous', () => {
    const v = [1, 1, null, 1, 3, 3, 3];
    const frames = [1, 2, 3, 4, 5, 9, 10];
    expect(runs((i) => v[i], 0, 7)).toEqual([{ from: 0, to: 2, value: 1 }, { from: 3, to: 4, value: 1 }, { from: 4, to: 7, value: 3 }]);
    expect(runs((i) => v[i], 0, 7, (i) => frames[i] === frames[i - 1] + 1)).toEqual([{ from: 0, to: 2, value: 1 }, { from: 3, to: 4, value: 1 }, { from: 4, to: 5, value: 3 }, { from: 5, to: 7, value: 3 }]);
  });


  it('frame of a time, and where to seek for a frame (variable frame times)', () => {
    const ft = [0, 0.04, 0.08, 0.2, 0.3];
    expect(frameAt(ft, 0)).toBe(0);
    expect(frameAt(ft, 0.079)).toBe(1);
    expect(frameAt(ft, 0.15)).toBe(2);
    expect(frameAt(ft, 9)).toBe(4);
    expect(seekTimeOfFrame(ft, 2)).toBeCloseTo(0.14);
    expect(frameAt(ft, seekTimeOfFrame(ft, 3))).toBe(3);
  });

  it('merges curves of different sources on one time axis, with gaps', () => {
    const m = mergeSources([{ label: 'a', colour: '#000', dash: [], times: [0, 1, 2], values: [1, 2, 3] }, { label: 'b', colour: '#111', dash: [], times: [1, 1.5], values: [9, 8] }]);
    expect(m.x).toEqual([0, 1, 1.5, 2]);
    expect(m.series).toEqual([[1, 2, null, 3], [null, 9, 8, null]]);
  });
});

describe('annotation edits', () => {
  const base = () => emptyDoc({ path: '/v.mp4', name: 'v.mp4' }, 'ann', '2026-01-01');

  it('undo and redo restore the document exactly, also for an edit that replaced something', () => {
    const u = new UndoStack();
    let doc = base();
    doc = u.record(doc, [{ type: 'segment.add', segment: { id: 's1', start: 1, end: 2, cls: 4, source: 'human' } }]).doc;
    const afterFirst = doc;
    doc = u.record(doc, [{ type: 'segment.update', id: 's1', patch: { cls: 5 } }]).doc;
    expect(doc.segments[0].cls).toBe(5);
    doc = applyOps(doc, u.undo() as AnnotationOp[]);
    expect(doc.segments).toEqual(afterFirst.segments);
    doc = applyOps(doc, u.undo() as AnnotationOp[]);
    expect(doc.segments).toEqual([]);
    doc = applyOps(doc, u.redo() as AnnotationOp[]);
    expect(doc.segments).toEqual(afterFirst.segments);
    expect(u.canRedo).toBe(true);
  });

  it('a rating take is one edit: undo removes the whole trace', () => {
    const u = new UndoStack();
    let doc = u.record(base(), [{ type: 'trace.start', trace: { id: 't', dims: 'va', input: 'mouse', started: 'x' } }]).doc;
    doc = u.extend(doc, [{ type: 'trace.samples', id: 't', samples: [[0, 0.1, 0.2], [0.5, 0.3, 0.4]] }]);
    expect(traceValueAt(doc, 0.6)).toEqual({ valence: null, arousal: null });
    expect(traceValueAt(doc, 0.49)).toEqual({ valence: 0.1, arousal: 0.2 });
    doc = applyOps(doc, u.undo() as AnnotationOp[]);
    expect(doc.traces).toEqual([]);
  });

  it('segment lookup picks the latest segment covering a time', () => {
    const doc = applyOps(base(), [
      { type: 'segment.add', segment: { id: 'a', start: 0, end: 10, cls: 1, source: 'human' } },
      { type: 'segment.add', segment: { id: 'b', start: 4, end: 6, cls: 3, source: 'human' } },
    ]);
    expect(segmentAt(doc, 5)).toBe(3);
    expect(segmentAt(doc, 7)).toBe(1);
    expect(segmentAt(doc, 10)).toBeNull();
  });
});

describe('heat-map cells and curve series', () => {
  it('zoomed in, a frame fills every column it is shown for; a gap in the frames stays empty', async () => {
    const { frameDurations } = await import('../../renderer/src/lib/timeline-math.js');
    const times = [0, 0.1, 0.2, 0.5];
    const frames = [1, 2, 3, 6];
    const d = frameDurations(times, frames);
    expect([d(0), d(1), d(2), d(3)].map((x) => +x.toFixed(3))).toEqual([0.1, 0.1, 0.1, 0.1]);
    const cols = columnMax(times, (i) => [0.2, 0.4, 0.6, 0.8][i], { start: 0, end: 1 }, 10, d);
    expect(Array.from(cols, (x) => (Number.isNaN(x) ? null : +x.toFixed(1)))).toEqual([0.2, 0.4, 0.6, null, null, 0.8, null, null, null, null]);
  });

  it('series are labelled by run and by annotator take, one colour per annotator, takes joined over skipped frames', async () => {
    const { curveSources } = await import('../../renderer/src/lib/series.js');
    const doc = (annotator: string, traces: { input: string; samples: [number, number, number][] }[]) => ({
      format: 'affect-studio-annotation/1' as const, video: { path: 'v', name: 'v' }, annotator, created: '', updated: '', segments: [], aus: [],
      traces: traces.map((t, i) => ({ id: `t${i}`, dims: 'va' as const, started: '', ...t })),
    });
    const face = { faceId: 0, frames: [1, 2], times: [0, 0.04], valence: [0.1, 0.2], arousal: [0, 0], expression: null, au: null, boxes: null, pose: null, gaze: null };
    const ana = doc('ana', [{ input: 'mouse', samples: [[0, 0.5, 0.1]] }, { input: 'model', samples: [[0, 0.1, 0.1]] }, { input: 'keyboard', samples: [[0, 0.3, 0.2]] }]);
    const bob = doc('bob', [{ input: 'mouse', samples: [[0, -0.5, 0.1]] }]);
    const s = curveSources('valence', { face, label: 'starter' }, undefined, [ana, bob], ['ana', 'bob']);
    expect(s.map((x) => x.label)).toEqual(['starter', 'ana take 1', 'ana take 2', 'bob take 1']);
    expect(s[1].colour).toBe(s[2].colour);
    expect(s[1].colour).not.toBe(s[3].colour);
    expect(s[1].dash).not.toEqual(s[2].dash);
    expect(s[0].joined).toBeFalsy();
    expect(s[1].joined).toBe(true);
  });
});
