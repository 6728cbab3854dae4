/**
 * The one evaluator: the challenge metrics of predictions against labels (../shared/ABAW.md),
 * used by `affect-studio eval`, the trainer's validation, bundle export, the ensemble builder and
 * the app's model-versus-annotator agreement, so they all give the same number for the same frames.
 *
 * The rule for what is not labelled (docs/predict.md, "Metrics"):
 * - each task is scored over all frames (of all videos together) where its label is valid;
 * - a task with no valid label anywhere is not scored: its metric is NaN (printed "n/a") and it adds
 *   nothing to P_MTL; `scored` lists the tasks that count;
 * - AU F1 is the mean over the AUs with at least one valid label;
 * - a frame whose label is valid but whose prediction is missing or not finite is not scored, and
 *   is counted in `unpredicted` / `nonFinite`, so callers can refuse to report a partial score.
 */
import { AUS, EXPRESSIONS, TASKS, topExpression, type Task } from './labels.js';
import { auF1, ccc, macroF1, pMtl, tuneThreshold } from './metrics.js';

export interface FramePrediction {
  valence?: number;
  arousal?: number;
  /** 8 class probabilities (or scores: the largest is the prediction). */
  expression?: ArrayLike<number>;
  /** 12 AU probabilities. */
  au?: ArrayLike<number>;
}

/** A frame's labels; undefined (or −1 for an AU) means not labelled. */
export interface FrameLabels {
  valence?: number;
  arousal?: number;
  expression?: number;
  au?: ArrayLike<number>;
}

export interface Scores {
  cccValence: number;
  cccArousal: number;
  f1Expression: number;
  f1ExpressionPerClass: number[];
  /** Mean F1 over labelled AUs at the given thresholds (0.5 unless told otherwise). */
  f1Au: number;
  f1AuPerAu: number[];
  /** Mean F1 with each AU's threshold tuned on these labels (an upper bound, reported beside). */
  f1AuTuned: number;
  tunedThresholds: number[];
  pMtl: number;
  pMtlTunedAu: number;
  /** Tasks with at least one valid label: the ones P_MTL adds up. */
  scored: Task[];
  /** Scored frames per task. */
  frames: Record<Task, number>;
  /** Frames with a valid label whose prediction is missing, per task. */
  unpredicted: Record<Task, number>;
  /** Frames with a valid label whose prediction is NaN or infinite, per task. */
  nonFinite: Record<Task, number>;
}

const perTask = (): Record<Task, number> => ({ valence: 0, arousal: 0, expression: 0, au: 0 });
const finite = (v: ArrayLike<number>): boolean => Array.prototype.every.call(v, Number.isFinite) as boolean;

/** Collects (prediction, label) pairs frame by frame, then scores them all together. */
export class Evaluator {
  private readonly v: [number[], number[]] = [[], []];
  private readonly a: [number[], number[]] = [[], []];
  private readonly e: [number[], number[]] = [[], []];
  private readonly au = AUS.map(() => [[], []] as [number[], number[]]);
  private readonly labelled = perTask();
  readonly unpredicted = perTask();
  readonly nonFinite = perTask();

  add(pred: FramePrediction | undefined, label: FrameLabels): void {
    const scalar = (task: 'valence' | 'arousal', into: [number[], number[]]) => {
      const l = label[task];
      if (l === undefined || Number.isNaN(l)) return;
      this.labelled[task]++;
      const p = pred?.[task];
      if (p === undefined) this.unpredicted[task]++;
      else if (!Number.isFinite(p)) this.nonFinite[task]++;
      else into[0].push(p), into[1].push(l);
    };
    scalar('valence', this.v);
    scalar('arousal', this.a);
    if (label.expression !== undefined && label.expression >= 0) {
      this.labelled.expression++;
      const p = pred?.expression;
      if (!p) this.unpredicted.expression++;
      else if (!finite(p)) this.nonFinite.expression++;
      else this.e[0].push(topExpression(p)), this.e[1].push(label.expression);
    }
    const labels = label.au;
    if (labels && Array.prototype.some.call(labels, (x: number) => x === 0 || x === 1)) {
      this.labelled.au++;
      const p = pred?.au;
      if (!p) this.unpredicted.au++;
      else if (!finite(p)) this.nonFinite.au++;
      else {
        for (let j = 0; j < AUS.length; j++) {
          if (labels[j] === 0 || labels[j] === 1) this.au[j][0].push(p[j]), this.au[j][1].push(labels[j]);
        }
      }
    }
  }

  /** The metrics over everything added; AUs are positive at `auThresholds` (default 0.5 each). */
  scores(auThresholds: ArrayLike<number> = AUS.map(() => 0.5)): Scores {
    const cccValence = this.v[0].length ? ccc(this.v[0], this.v[1]) : NaN;
    const cccArousal = this.a[0].length ? ccc(this.a[0], this.a[1]) : NaN;
    const expr = this.e[0].length ? macroF1(this.e[0], this.e[1], EXPRESSIONS.length) : { mean: NaN, perClass: EXPRESSIONS.map(() => NaN) };
    const f1AuPerAu = this.au.map(([p, l], j) => (l.length ? auF1(p, l, auThresholds[j]) : NaN));
    const tuned = this.au.map(([p, l]) => (l.length ? tuneThreshold(p, l) : { threshold: 0.5, f1: NaN }));
    const f1Au = meanOfFinite(f1AuPerAu);
    const f1AuTuned = meanOfFinite(tuned.map((t) => t.f1));
    const frames = { valence: this.v[0].length, arousal: this.a[0].length, expression: this.e[0].length, au: this.au.reduce((m, [, l]) => Math.max(m, l.length), 0) };
    const scored = TASKS.filter((t) => this.labelled[t] > 0);
    const part = (x: number) => (Number.isFinite(x) ? x : 0);
    return {
      cccValence, cccArousal, f1Expression: expr.mean, f1ExpressionPerClass: expr.perClass, f1Au, f1AuPerAu, f1AuTuned,
      tunedThresholds: tuned.map((t) => t.threshold),
      pMtl: pMtl(part(cccValence), part(cccArousal), part(expr.mean), part(f1Au)),
      pMtlTunedAu: pMtl(part(cccValence), part(cccArousal), part(expr.mean), part(f1AuTuned)),
      scored, frames, unpredicted: { ...this.unpredicted }, nonFinite: { ...this.nonFinite },
    };
  }
}

/** Mean of the finite values; NaN when there are none. */
function meanOfFinite(xs: number[]): number {
  const ok = xs.filter(Number.isFinite);
  return ok.length ? ok.reduce((s, x) => s + x, 0) / ok.length : NaN;
}
