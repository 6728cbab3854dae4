/**
 * The ABAW label schema: task names, class and AU order. Defined once; the CSV writers, the
 * readers of annotation files, the model bundles and the metrics all use these.
 */
export const EXPRESSIONS = ['Neutral', 'Anger', 'Disgust', 'Fear', 'Happiness', 'Sadness', 'Surprise', 'Other'] as const;
export const AUS = ['AU1', 'AU2', 'AU4', 'AU6', 'AU7', 'AU10', 'AU12', 'AU15', 'AU23', 'AU24', 'AU25', 'AU26'] as const;

export type Expression = (typeof EXPRESSIONS)[number];
export type ActionUnit = (typeof AUS)[number];

export const TASKS = ['valence', 'arousal', 'expression', 'au'] as const;
export type Task = (typeof TASKS)[number];

/** Output width of each task's head. */
export const TASK_DIMS: Record<Task, number> = { valence: 1, arousal: 1, expression: EXPRESSIONS.length, au: AUS.length };

/** Markers of a missing label in ABAW files. */
export const INVALID = { va: -5, expression: -1, au: -1 } as const;

/** Index of the largest of `n` values starting at `start`. */
function argmax(v: ArrayLike<number>, start: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (v[start + i] > v[start + best]) best = i;
  return best;
}

/** The most probable expression of row `row` of a row-major [rows × 8] probability matrix. */
export const topExpression = (probs: ArrayLike<number>, row = 0): number => argmax(probs, row * EXPRESSIONS.length, EXPRESSIONS.length);
