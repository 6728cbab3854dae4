/**
 * Annotation documents change only through operations. The same pure functions apply them in the
 * UI (instantly, and to compute undo) and in the engine (which journals every operation to disk
 * before acknowledging it). No Node or DOM APIs here: both sides import this file.
 */
import type { AnnotationDoc, AnnotationOp } from './contract.js';

export function emptyDoc(video: { path: string; name: string }, annotator: string, now: string): AnnotationDoc {
  return { format: 'affect-studio-annotation/1', video, annotator, created: now, updated: now, segments: [], aus: [], traces: [] };
}

/** Applies one operation, returning a new document (the input is not modified). */
export function applyOp(doc: AnnotationDoc, op: AnnotationOp): AnnotationDoc {
  switch (op.type) {
    case 'segment.add':
      return { ...doc, segments: [...doc.segments.filter((s) => s.id !== op.segment.id), { ...op.segment, source: op.segment.source ?? 'human' }] };
    case 'segment.remove':
      return { ...doc, segments: doc.segments.filter((s) => s.id !== op.id) };
    case 'segment.update':
      return { ...doc, segments: doc.segments.map((s) => (s.id === op.id ? { ...s, ...op.patch, source: 'human', confidence: undefined } : s)) };
    case 'au.add':
      return { ...doc, aus: [...doc.aus.filter((r) => r.id !== op.range.id), { ...op.range, source: op.range.source ?? 'human' }] };
    case 'au.remove':
      return { ...doc, aus: doc.aus.filter((r) => r.id !== op.id) };
    case 'trace.start':
      return { ...doc, traces: [...doc.traces.filter((t) => t.id !== op.trace.id), { ...op.trace, samples: [] }] };
    case 'trace.samples':
      return { ...doc, traces: doc.traces.map((t) => (t.id === op.id ? { ...t, samples: [...t.samples, ...op.samples] } : t)) };
    case 'trace.remove':
      return { ...doc, traces: doc.traces.filter((t) => t.id !== op.id) };
  }
}

export const applyOps = (doc: AnnotationDoc, ops: AnnotationOp[]): AnnotationDoc => ops.reduce(applyOp, doc);

/**
 * The operations that undo `op` on `before` (the document it was applied to). Undo of a trace
 * removes the whole trace: continuous ratings are recorded and undone as one take.
 */
export function inverseOps(before: AnnotationDoc, op: AnnotationOp): AnnotationOp[] {
  switch (op.type) {
    case 'segment.add': {
      const old = before.segments.find((s) => s.id === op.segment.id);
      return old ? [{ type: 'segment.add', segment: old }] : [{ type: 'segment.remove', id: op.segment.id }];
    }
    case 'segment.remove':
    case 'segment.update': {
      const old = before.segments.find((s) => s.id === op.id);
      return old ? [{ type: 'segment.add', segment: old }] : [];
    }
    case 'au.add': {
      const old = before.aus.find((r) => r.id === op.range.id);
      return old ? [{ type: 'au.add', range: old }] : [{ type: 'au.remove', id: op.range.id }];
    }
    case 'au.remove': {
      const old = before.aus.find((r) => r.id === op.id);
      return old ? [{ type: 'au.add', range: old }] : [];
    }
    case 'trace.start':
      return [{ type: 'trace.remove', id: op.trace.id }];
    case 'trace.samples':
      return [];
    case 'trace.remove': {
      const old = before.traces.find((t) => t.id === op.id);
      if (!old) return [];
      return [{ type: 'trace.start', trace: { id: old.id, dims: old.dims, input: old.input as 'mouse', started: old.started } }, ...(old.samples.length ? [{ type: 'trace.samples' as const, id: old.id, samples: old.samples }] : [])];
    }
  }
}

/** Latest value of a set of traces at time t: the most recently started trace that covers t. */
export function traceValueAt(doc: AnnotationDoc, t: number): { valence: number | null; arousal: number | null } {
  let valence: number | null = null;
  let arousal: number | null = null;
  for (const tr of doc.traces) {
    const s = tr.samples;
    if (!s.length || t < s[0][0] || t > s[s.length - 1][0]) continue;
    let lo = 0, hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid][0] <= t) lo = mid;
      else hi = mid - 1;
    }
    if (tr.dims !== 'arousal') valence = s[lo][1];
    if (tr.dims !== 'valence') arousal = s[lo][2];
  }
  return { valence, arousal };
}

/** Expression class at time t: the last-added segment covering t, or null. */
export function segmentAt(doc: AnnotationDoc, t: number): number | null {
  for (let i = doc.segments.length - 1; i >= 0; i--) {
    const s = doc.segments[i];
    if (t >= s.start && t < s.end) return s.cls;
  }
  return null;
}
