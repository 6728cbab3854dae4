/**
 * Run-length encoding of per-frame labels: consecutive items with the same label become one run.
 * Segments from per-frame classes (import, pre-fill), ribbons on the timeline.
 */

export interface Run {
  /** First item of the run. */
  from: number;
  /** One past its last item. */
  to: number;
  value: number;
}

/**
 * Runs of equal labels over items [from, to). A null label belongs to no run (it ends the current
 * one); `continues(i)` false also ends a run before item i (e.g. a gap in the frame numbers).
 */
export function runs(label: (i: number) => number | null, from: number, to: number, continues: (i: number) => boolean = () => true): Run[] {
  const out: Run[] = [];
  let open = false;
  for (let i = from; i < to; i++) {
    const v = label(i);
    const last = out[out.length - 1];
    if (v === null) {
      open = false;
      continue;
    }
    if (open && last.value === v && last.to === i && continues(i)) last.to = i + 1;
    else out.push({ from: i, to: i + 1, value: v });
    open = true;
  }
  return out;
}
