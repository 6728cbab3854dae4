/**
 * The curve charts' data: uPlot draws series over one shared time axis, so the model run, a run to
 * compare with and every annotator's rating takes are merged onto the union of their times (null
 * where a source has no value, which uPlot leaves as a gap). Each series is labelled by what made it
 * — a run by its bundle, a take by its annotator and number — and coloured by who made it.
 */
import type { AnnotationDoc, FaceSeries } from './types.js';
import { annotatorColour, COMPARE_COLOUR, RUN_COLOUR } from './colours.js';

export interface CurveSource {
  label: string;
  colour: string;
  /** Dash pattern (empty: solid). */
  dash: number[];
  /** Join the line over missing samples (a take's skipped frames); a run's gaps (no face) stay gaps. */
  joined?: boolean;
  times: number[];
  values: (number | null)[];
}

export interface CurveData {
  x: number[];
  series: (number | null)[][];
  sources: Omit<CurveSource, 'times' | 'values'>[];
}

export function mergeSources(sources: CurveSource[]): CurveData {
  const key = (t: number) => Math.round(t * 1e4);
  const rows = new Map<number, number>();
  for (const s of sources) for (const t of s.times) rows.set(key(t), t);
  const x = [...rows.values()].sort((a, b) => a - b);
  const index = new Map(x.map((t, i) => [key(t), i]));
  const series = sources.map((s) => {
    const col: (number | null)[] = new Array(x.length).fill(null);
    s.times.forEach((t, i) => {
      col[index.get(key(t)) as number] = s.values[i];
    });
    return col;
  });
  return { x, series, sources: sources.map(({ label, colour, dash, joined }) => ({ label, colour, dash, joined })) };
}

const TAKE_DASHES = [[], [6, 3], [2, 3], [8, 3, 2, 3]];

/**
 * One dimension (valence or arousal) of the shown run, the compared run and every annotator's takes.
 * Pre-filled model traces are copies of a run and are not drawn again.
 */
export function curveSources(dim: 'valence' | 'arousal', run: { face?: FaceSeries; label: string } | undefined, compare: { face?: FaceSeries; label: string } | undefined, docs: AnnotationDoc[], annotators: string[]): CurveSource[] {
  const out: CurveSource[] = [];
  if (run?.face) out.push({ label: run.label, colour: RUN_COLOUR, dash: [], times: run.face.times, values: run.face[dim] });
  if (compare?.face) out.push({ label: `${compare.label} (compare)`, colour: COMPARE_COLOUR, dash: [5, 4], times: compare.face.times, values: compare.face[dim] });
  for (const doc of docs) {
    const colour = annotatorColour(doc.annotator, annotators);
    let take = 0;
    for (const tr of doc.traces) {
      if (tr.input === 'model') continue;
      if (tr.dims !== 'va' && tr.dims !== dim) continue;
      take++;
      const label = tr.input === 'import' ? `${doc.annotator} (imported)` : `${doc.annotator} take ${take}`;
      out.push({ label, colour, dash: TAKE_DASHES[(take - 1) % TAKE_DASHES.length], joined: true, times: tr.samples.map((s) => s[0]), values: tr.samples.map((s) => (dim === 'valence' ? s[1] : s[2])) });
    }
  }
  return out;
}
