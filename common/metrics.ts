/**
 * The ABAW challenge metrics (../shared/ABAW.md): CCC for valence and arousal, macro F1 over the 8
 * expressions, mean F1 over the 12 AUs, and P_MTL = ½(CCC_V + CCC_A) + F1_expr + F1_AU.
 * Computed over all valid frames of a split together, never averaged per video.
 */

/** Concordance correlation coefficient with population moments; 0 when it is undefined (both constant and equal means give 1). */
export function ccc(pred: ArrayLike<number>, label: ArrayLike<number>): number {
  const n = pred.length;
  if (n === 0) return NaN;
  let mp = 0, ml = 0;
  for (let i = 0; i < n; i++) {
    mp += pred[i];
    ml += label[i];
  }
  mp /= n;
  ml /= n;
  let vp = 0, vl = 0, cov = 0;
  for (let i = 0; i < n; i++) {
    const dp = pred[i] - mp, dl = label[i] - ml;
    vp += dp * dp;
    vl += dl * dl;
    cov += dp * dl;
  }
  vp /= n;
  vl /= n;
  cov /= n;
  const denom = vp + vl + (mp - ml) ** 2;
  if (denom === 0) return 1; // identical constants: perfect agreement
  return (2 * cov) / denom;
}

/** Binary F1 = 2TP / (2TP + FP + FN); 0 when there are no true positives (the challenge's convention). */
export function f1(tp: number, fp: number, fn: number): number {
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** Macro F1 over `classes` classes: every class counts, a class without true positives scores 0. */
export function macroF1(pred: ArrayLike<number>, label: ArrayLike<number>, classes: number): { mean: number; perClass: number[] } {
  const tp = new Array(classes).fill(0), fp = new Array(classes).fill(0), fn = new Array(classes).fill(0);
  for (let i = 0; i < pred.length; i++) {
    if (pred[i] === label[i]) tp[label[i]]++;
    else {
      fp[pred[i]]++;
      fn[label[i]]++;
    }
  }
  const perClass = tp.map((t, c) => f1(t, fp[c], fn[c]));
  return { mean: perClass.reduce((a, b) => a + b, 0) / classes, perClass };
}

/** F1 of one AU: predictions are probabilities, positive at ≥ threshold. */
export function auF1(prob: ArrayLike<number>, label: ArrayLike<number>, threshold: number): number {
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < prob.length; i++) {
    const p = prob[i] >= threshold;
    if (p && label[i] === 1) tp++;
    else if (p) fp++;
    else if (label[i] === 1) fn++;
  }
  return f1(tp, fp, fn);
}

/** The threshold (on a 0.05 grid) that maximises an AU's F1 on these labels. */
export function tuneThreshold(prob: ArrayLike<number>, label: ArrayLike<number>): { threshold: number; f1: number } {
  let best = { threshold: 0.5, f1: auF1(prob, label, 0.5) };
  for (let k = 1; k < 20; k++) {
    const t = k / 20;
    const score = auF1(prob, label, t);
    if (score > best.f1 + 1e-12) best = { threshold: t, f1: score };
  }
  return best;
}

export const pMtl = (cccV: number, cccA: number, f1Expr: number, f1Au: number): number => 0.5 * (cccV + cccA) + f1Expr + f1Au;

/**
 * ICC(3,1): two-way mixed effects, consistency, single rater (Shrout & Fleiss), for k raters'
 * ratings of n targets (`ratings[target][rater]`). NaN when undefined (fewer than 2 targets).
 */
export function icc31(ratings: number[][]): number {
  const n = ratings.length;
  if (n < 2) return NaN;
  const k = ratings[0].length;
  const grand = ratings.flat().reduce((a, b) => a + b, 0) / (n * k);
  const rowMeans = ratings.map((r) => r.reduce((a, b) => a + b, 0) / k);
  const colMeans = Array.from({ length: k }, (_, j) => ratings.reduce((a, r) => a + r[j], 0) / n);
  let ssRows = 0, ssCols = 0, ssTotal = 0;
  for (let i = 0; i < n; i++) ssRows += k * (rowMeans[i] - grand) ** 2;
  for (let j = 0; j < k; j++) ssCols += n * (colMeans[j] - grand) ** 2;
  for (const r of ratings) for (const v of r) ssTotal += (v - grand) ** 2;
  const msRows = ssRows / (n - 1);
  const msError = (ssTotal - ssRows - ssCols) / ((n - 1) * (k - 1));
  const denom = msRows + (k - 1) * msError;
  return denom === 0 ? NaN : (msRows - msError) / denom;
}
