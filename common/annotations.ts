/**
 * Annotation documents and the operations that change them. The same pure functions apply
 * operations in the UI (instantly, and to compute undo) and in the engine (which journals every
 * operation to disk before acknowledging it). No Node or DOM APIs here: both sides import this file.
 */
import { z } from 'zod';
import { AUS } from './labels.js';

const id = z.string().min(1).max(200);
const seconds = z.number().finite().min(0);

/** Most samples one `trace.samples` operation carries (longer takes are sent in several). */
export const TRACE_SAMPLES_PER_OP = 10_000;
/** How a take was made: rated by a person (mouse, keyboard, gamepad), pre-filled from a model run, or imported from a file. */
export const TRACE_INPUTS = ['mouse', 'keyboard', 'gamepad', 'model', 'import'] as const;
export const TraceInputSchema = z.enum(TRACE_INPUTS);
export type TraceInput = z.infer<typeof TraceInputSchema>;

export interface AnnotationDoc {
  format: 'affect-studio-annotation/1';
  video: { path: string; name: string };
  annotator: string;
  created: string;
  updated: string;
  segments: { id: string; start: number; end: number; cls: number; source: 'human' | 'model'; confidence?: number }[];
  aus: { id: string; au: string; start: number; end: number; intensity?: number; source: 'human' | 'model'; confidence?: number }[];
  traces: { id: string; dims: 'va' | 'valence' | 'arousal'; input: string; started: string; samples: [number, number, number][] }[];
}

export const AnnotationOpSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('segment.add'), segment: z.object({ id, start: seconds, end: seconds, cls: z.number().int().min(0).max(7), source: z.enum(['human', 'model']).default('human'), confidence: z.number().min(0).max(1).optional() }) }),
  z.object({ type: z.literal('segment.remove'), id }),
  z.object({ type: z.literal('segment.update'), id, patch: z.object({ start: seconds.optional(), end: seconds.optional(), cls: z.number().int().min(0).max(7).optional() }) }),
  z.object({ type: z.literal('au.add'), range: z.object({ id, au: z.string().regex(/^AU\d{1,2}$/), start: seconds, end: seconds, intensity: z.number().int().min(0).max(5).optional(), source: z.enum(['human', 'model']).default('human'), confidence: z.number().min(0).max(1).optional() }) }),
  z.object({ type: z.literal('au.remove'), id }),
  z.object({ type: z.literal('trace.start'), trace: z.object({ id, dims: z.enum(['va', 'valence', 'arousal']), input: TraceInputSchema, started: z.string().max(40) }) }),
  // the device a take was made with is known for sure only once it ends
  z.object({ type: z.literal('trace.update'), id, patch: z.object({ input: TraceInputSchema }) }),
  z.object({ type: z.literal('trace.samples'), id, samples: z.array(z.tuple([seconds, z.number().min(-1).max(1), z.number().min(-1).max(1)])).max(TRACE_SAMPLES_PER_OP) }),
  z.object({ type: z.literal('trace.remove'), id }),
]);
export type AnnotationOp = z.infer<typeof AnnotationOpSchema>;

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
    case 'trace.update':
      return { ...doc, traces: doc.traces.map((t) => (t.id === op.id ? { ...t, ...op.patch } : t)) };
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
    case 'trace.update': {
      const old = before.traces.find((t) => t.id === op.id);
      return old ? [{ type: 'trace.update', id: op.id, patch: { input: old.input as TraceInput } }] : [];
    }
    case 'trace.samples':
      return [];
    case 'trace.remove': {
      const old = before.traces.find((t) => t.id === op.id);
      if (!old) return [];
      return [{ type: 'trace.start', trace: { id: old.id, dims: old.dims, input: old.input as TraceInput, started: old.started } }, ...(old.samples.length ? [{ type: 'trace.samples' as const, id: old.id, samples: old.samples }] : [])];
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

/**
 * Per-frame AU labels: inside an AU's ranges 1; elsewhere within the span the annotator coded AUs
 * (first to last AU range) 0; outside it null (not labelled).
 */
export function auAt(doc: AnnotationDoc, t: number): Int8Array | null {
  if (!doc.aus.length) return null;
  const lo = Math.min(...doc.aus.map((r) => r.start));
  const hi = Math.max(...doc.aus.map((r) => r.end));
  if (t < lo || t >= hi) return null;
  const out = new Int8Array(AUS.length);
  for (const r of doc.aus) {
    const j = AUS.indexOf(r.au as (typeof AUS)[number]);
    if (j >= 0 && t >= r.start && t < r.end) out[j] = 1;
  }
  return out;
}
