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

/**
 * Cohen's kappa of two raters' nominal codes of the same items (`a[i]`, `b[i]`: class indices):
 * (p_o − p_e) / (1 − p_e), p_o the share of items they agree on, p_e the agreement expected from
 * each rater's own class frequencies. NaN when undefined: no items, or both raters used one and the
 * same class throughout (p_e = 1).
 */
export function cohenKappa(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n === 0 || b.length !== n) return NaN;
  const countA = new Map<number, number>();
  const countB = new Map<number, number>();
  let agree = 0;
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) agree++;
    countA.set(a[i], (countA.get(a[i]) ?? 0) + 1);
    countB.set(b[i], (countB.get(b[i]) ?? 0) + 1);
  }
  let expected = 0;
  for (const [c, na] of countA) expected += (na / n) * ((countB.get(c) ?? 0) / n);
  if (expected === 1) return NaN;
  return (agree / n - expected) / (1 - expected);
}

/**
 * Krippendorff's alpha for nominal codes, any number of raters, missing codes allowed:
 * `units[u]` holds the codes the raters gave unit u (a rater who did not code it is simply absent).
 * Units with fewer than two codes are not pairable and are left out. Computed from the coincidence
 * matrix: α = 1 − (n − 1) · Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k. NaN when undefined (fewer than two
 * pairable codes, or a single class used throughout).
 */
export function krippendorffAlphaNominal(units: ArrayLike<number>[]): number {
  const coincidence = new Map<number, Map<number, number>>(); // o_ck
  const marginal = new Map<number, number>(); // n_c
  for (const codes of units) {
    const m = codes.length;
    if (m < 2) continue;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        if (i === j) continue;
        const row = coincidence.get(codes[i]) ?? new Map<number, number>();
        coincidence.set(codes[i], row);
        row.set(codes[j], (row.get(codes[j]) ?? 0) + 1 / (m - 1));
      }
      marginal.set(codes[i], (marginal.get(codes[i]) ?? 0) + 1);
    }
  }
  let n = 0;
  for (const v of marginal.values()) n += v;
  if (n < 2) return NaN;
  let disagreeObserved = 0;
  for (const [c, row] of coincidence) for (const [k, o] of row) if (c !== k) disagreeObserved += o;
  let sumSquares = 0;
  for (const v of marginal.values()) sumSquares += v * v;
  const disagreeExpected = n * n - sumSquares; // Σ_{c≠k} n_c n_k
  if (disagreeExpected === 0) return NaN;
  return 1 - ((n - 1) * disagreeObserved) / disagreeExpected;
}
