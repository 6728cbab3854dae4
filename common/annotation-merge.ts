/**
 * Merging suggestions (a model pre-fill, an imported ABAW file) into an annotator's tier without
 * touching anything of theirs: the result is a list of operations the UI applies like any other
 * edit, so it is journaled and undoable. Pure and environment-neutral: the UI may use it too.
 *
 * The rule (docs/annotations.md, "Pre-fill and import"): suggestions only fill time the annotator
 * has left empty.
 * - an expression segment is clipped to the time none of the annotator's segments covers (split
 *   into pieces where needed);
 * - an AU range is clipped to the time none of the annotator's ranges of the same AU covers;
 * - a V/A trace becomes traces of its own (input `model` or `import`) over the time none of the
 *   annotator's takes covers, per dimension: where a take rated valence only, the suggestion
 *   fills arousal only. Takes are never replaced, and since the suggestion never overlaps them,
 *   "the latest take wins" cannot let it shadow one.
 * Pieces that clipping leaves shorter than `minDuration` are dropped; every id is new.
 */
import { TRACE_SAMPLES_PER_OP, type AnnotationDoc, type AnnotationOp } from './annotations.js';

/**
 * What a pre-fill or an import would add to an annotator's tier, merged into time that annotator has
 * not annotated (nothing of theirs is replaced). The UI shows the summary, asks, and applies `ops` as
 * one undoable edit.
 */
export interface MergeProposal {
  ops: AnnotationOp[];
  summary: {
    /** Items that would be added (after clipping to the free time). */
    segments: number; aus: number; traces: number;
    /** The annotator's own items, all kept. */
    keptSegments: number; keptAus: number; keptTraces: number;
    /** Proposed items dropped or shortened because they overlapped the annotator's own. */
    clipped: number;
  };
}

export interface MergeOptions {
  /** Clipped pieces shorter than this (seconds) are dropped. Default: half a frame at 30 fps. */
  minDuration?: number;
  /** A new id for an added item (default: unique within the document, random otherwise). */
  newId?: (kind: 'seg' | 'au' | 'trace') => string;
}

type Interval = [number, number];
type TraceDims = AnnotationDoc['traces'][number]['dims'];
type TraceInput = Extract<AnnotationOp, { type: 'trace.start' }>['trace']['input'];

export const DEFAULT_MIN_PIECE_SECONDS = 0.5 / 30;

/** Sorted, non-overlapping union of intervals. */
function union(intervals: Interval[]): Interval[] {
  const sorted = intervals.filter(([a, b]) => b >= a).sort((x, y) => x[0] - y[0]);
  const out: Interval[] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** The parts of [a, b) that no interval of `covered` (a union) touches. */
function subtract([a, b]: Interval, covered: Interval[]): Interval[] {
  const out: Interval[] = [];
  let from = a;
  for (const [c, d] of covered) {
    if (d <= from) continue;
    if (c >= b) break;
    if (c > from) out.push([from, c]);
    from = Math.max(from, d);
    if (from >= b) break;
  }
  if (from < b) out.push([from, b]);
  return out;
}

/** Whether t lies within one of the closed intervals of a union. */
function inside(t: number, covered: Interval[]): boolean {
  return covered.some(([c, d]) => t >= c && t <= d);
}

/** Whether a covered interval lies (partly) strictly between two sample times. */
function coveredBetween(a: number, b: number, covered: Interval[]): boolean {
  return covered.some(([c, d]) => c < b && d > a);
}

function idMaker(doc: AnnotationDoc): (kind: 'seg' | 'au' | 'trace') => string {
  const taken = new Set([...doc.segments.map((s) => s.id), ...doc.aus.map((r) => r.id), ...doc.traces.map((t) => t.id)]);
  const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
  let n = 0;
  return (kind) => {
    let id: string;
    do id = `${kind}-${stamp}-${n++}`;
    while (taken.has(id));
    taken.add(id);
    return id;
  };
}

const clamp = (v: number): number => Math.max(-1, Math.min(1, v));

/** The operations that add the suggestions of `proposed` to `doc` where `doc` is empty, and what they amount to. */
export function mergeProposal(doc: AnnotationDoc, proposed: AnnotationDoc, options: MergeOptions = {}): MergeProposal {
  const minDuration = options.minDuration ?? DEFAULT_MIN_PIECE_SECONDS;
  const newId = options.newId ?? idMaker(doc);
  const ops: AnnotationOp[] = [];
  const summary = { segments: 0, aus: 0, traces: 0, keptSegments: doc.segments.length, keptAus: doc.aus.length, keptTraces: doc.traces.length, clipped: 0 };

  /** Pieces of a suggested item in the free time; counts it as clipped when it lost anything. */
  const clip = (item: Interval, covered: Interval[]): Interval[] => {
    const pieces = subtract(item, covered);
    const whole = pieces.length === 1 && pieces[0][0] === item[0] && pieces[0][1] === item[1];
    if (whole) return pieces;
    summary.clipped++;
    return pieces.filter(([a, b]) => b - a >= minDuration);
  };

  const segmentsTaken = union(doc.segments.map((s) => [s.start, s.end]));
  for (const s of proposed.segments) {
    for (const [start, end] of clip([s.start, s.end], segmentsTaken)) {
      ops.push({ type: 'segment.add', segment: { id: newId('seg'), start, end, cls: s.cls, source: s.source, ...(s.confidence !== undefined && { confidence: s.confidence }) } });
      summary.segments++;
    }
  }

  const ausTaken = new Map<string, Interval[]>();
  for (const r of proposed.aus) {
    let taken = ausTaken.get(r.au);
    if (!taken) ausTaken.set(r.au, (taken = union(doc.aus.filter((x) => x.au === r.au).map((x) => [x.start, x.end]))));
    for (const [start, end] of clip([r.start, r.end], taken)) {
      ops.push({ type: 'au.add', range: { id: newId('au'), au: r.au, start, end, source: r.source, ...(r.intensity !== undefined && { intensity: r.intensity }), ...(r.confidence !== undefined && { confidence: r.confidence }) } });
      summary.aus++;
    }
  }

  // a take covers [first sample, last sample] (traceValueAt), per rated dimension
  const span = (t: AnnotationDoc['traces'][number]): Interval[] => (t.samples.length ? [[t.samples[0][0], t.samples[t.samples.length - 1][0]]] : []);
  const valenceTaken = union(doc.traces.filter((t) => t.dims !== 'arousal').flatMap(span));
  const arousalTaken = union(doc.traces.filter((t) => t.dims !== 'valence').flatMap(span));
  for (const t of proposed.traces) {
    if (!t.samples.length) continue;
    const samples = [...t.samples].sort((x, y) => x[0] - y[0]);
    const wantV = t.dims !== 'arousal', wantA = t.dims !== 'valence';
    const dimsAt = (time: number): TraceDims | null => {
      const v = wantV && !inside(time, valenceTaken), a = wantA && !inside(time, arousalTaken);
      return v && a ? 'va' : v ? 'valence' : a ? 'arousal' : null;
    };
    // runs of consecutive samples free in the same dimensions, broken where a take lies between them
    const pieces: { dims: TraceDims; samples: [number, number, number][] }[] = [];
    let open: (typeof pieces)[number] | undefined;
    let prev: number | undefined;
    for (const s of samples) {
      const dims = dimsAt(s[0]);
      const broken = prev !== undefined && dims !== null &&
        ((dims !== 'arousal' && coveredBetween(prev, s[0], valenceTaken)) || (dims !== 'valence' && coveredBetween(prev, s[0], arousalTaken)));
      if (dims === null) open = undefined;
      else if (open && open.dims === dims && !broken) open.samples.push(s);
      else pieces.push((open = { dims, samples: [s] }));
      prev = s[0];
    }
    const whole = pieces.length === 1 && pieces[0].samples.length === samples.length && pieces[0].dims === t.dims;
    if (!whole) summary.clipped++;
    for (const piece of pieces) {
      const first = piece.samples[0][0], last = piece.samples[piece.samples.length - 1][0];
      if (!whole && last - first < minDuration) continue;
      const id = newId('trace');
      ops.push({ type: 'trace.start', trace: { id, dims: piece.dims, input: t.input as TraceInput, started: t.started } });
      for (let i = 0; i < piece.samples.length; i += TRACE_SAMPLES_PER_OP) {
        ops.push({ type: 'trace.samples', id, samples: piece.samples.slice(i, i + TRACE_SAMPLES_PER_OP).map(([time, v, a]) => [Math.max(0, time), clamp(v), clamp(a)]) });
      }
      summary.traces++;
    }
  }
  return { ops, summary };
}
