/**
 * Builds the curve chart's data: uPlot draws series over one shared time axis, so the model run, a
 * run to compare with and the human trace are merged onto the union of their times (null where a
 * source has no value, which uPlot leaves as a gap).
 */
import type { AnnotationDoc, FaceSeries } from './types.js';

export interface CurveData {
  x: number[];
  series: (number | null)[][];
  labels: string[];
}

interface Source {
  label: string;
  times: number[];
  values: (number | null)[];
}

export function mergeSources(sources: Source[]): CurveData {
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
  return { x, series, labels: sources.map((s) => s.label) };
}

export function curveSources(run: FaceSeries | undefined, compare: FaceSeries | undefined, doc: AnnotationDoc | null): Source[] {
  const out: Source[] = [];
  if (run) {
    out.push({ label: 'valence', times: run.times, values: run.valence });
    out.push({ label: 'arousal', times: run.times, values: run.arousal });
  }
  if (compare) {
    out.push({ label: 'valence (compare)', times: compare.times, values: compare.valence });
    out.push({ label: 'arousal (compare)', times: compare.times, values: compare.arousal });
  }
  for (const tr of doc?.traces ?? []) {
    if (tr.input === 'model') continue; // a pre-fill copies the run: drawn already
    const times = tr.samples.map((s) => s[0]);
    if (tr.dims !== 'arousal') out.push({ label: `valence (${tr.input})`, times, values: tr.samples.map((s) => s[1]) });
    if (tr.dims !== 'valence') out.push({ label: `arousal (${tr.input})`, times, values: tr.samples.map((s) => s[2]) });
  }
  return out;
}
