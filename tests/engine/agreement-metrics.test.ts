/**
 * Cohen's kappa and Krippendorff's alpha against worked examples from the literature, and the
 * edge cases where they are undefined.
 */
import { describe, expect, it } from 'vitest';
import { cohenKappa, krippendorffAlphaNominal } from '../../common/metrics.js';

/** Expands a contingency table (rows: rater A's class, columns: rater B's) into paired codes. */
function pairsFromTable(table: number[][]): { a: number[]; b: number[] } {
  const a: number[] = [], b: number[] = [];
  table.forEach((row, i) => row.forEach((count, j) => {
    for (let k = 0; k < count; k++) a.push(i), b.push(j);
  }));
  return { a, b };
}

/** Reliability data as printed (observers × units, null = not coded) → the codes of each unit. */
const unitsOf = (observers: (number | null)[][]): number[][] =>
  observers[0].map((_, u) => observers.map((o) => o[u]).filter((v): v is number => v !== null));

describe("Cohen's kappa", () => {
  it('the textbook 2×2 example: 50 items, agree yes 20 and no 15, disagree 5 and 10 → κ = 0.4', () => {
    // p_o = 35/50 = 0.7; A says yes 25/50, B 30/50 → p_e = 0.5·0.6 + 0.5·0.4 = 0.5; κ = 0.2/0.5
    const { a, b } = pairsFromTable([[20, 5], [10, 15]]);
    expect(cohenKappa(a, b)).toBeCloseTo(0.4, 12);
  });

  it('three classes, worked by hand', () => {
    // n = 100, diagonal 30 + 20 + 5 = 55 → p_o 0.55; row sums 45 35 20, column sums 40 40 20
    // p_e = 0.45·0.40 + 0.35·0.40 + 0.20·0.20 = 0.18 + 0.14 + 0.04 = 0.36 → κ = 0.19 / 0.64
    const { a, b } = pairsFromTable([[30, 10, 5], [5, 20, 10], [5, 10, 5]]);
    expect(cohenKappa(a, b)).toBeCloseTo(0.19 / 0.64, 12);
  });

  it('perfect agreement is 1, chance-level agreement 0, and one shared constant class undefined', () => {
    expect(cohenKappa([0, 1, 2, 1], [0, 1, 2, 1])).toBe(1);
    // each rater 50/50, independent: p_o = p_e = 0.5
    expect(cohenKappa([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(0, 12);
    expect(cohenKappa([3, 3, 3], [3, 3, 3])).toBeNaN();
    expect(cohenKappa([], [])).toBeNaN();
  });
});

describe("Krippendorff's alpha (nominal)", () => {
  it("Krippendorff's example with 4 observers, 12 units and missing data → α = 0.743", () => {
    // Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C (nominal data)
    const observers = [
      [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null],
      [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3],
      [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null],
      [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null],
    ];
    expect(krippendorffAlphaNominal(unitsOf(observers))).toBeCloseTo(0.743, 3);
  });

  it("Krippendorff's binary example, 2 observers, 10 units → α = 0.095", () => {
    // same paper, section A: o_01 = o_10 = 4, n_0 = 14, n_1 = 6 → α = 1 − 19·4·2 / (2·14·6) = 2/21
    const observers = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]];
    expect(krippendorffAlphaNominal(unitsOf(observers))).toBeCloseTo(2 / 21, 12);
  });

  it("Wikipedia's computational example, 3 coders, 15 units → α = 0.691", () => {
    const observers = [
      [null, null, null, null, null, 3, 4, 1, 2, 1, 1, 3, 3, null, 3],
      [1, null, 2, 1, 3, 3, 4, 3, null, null, null, null, null, null, null],
      [null, null, 2, 1, 3, 4, 4, null, 2, 1, 1, 3, 3, null, 4],
    ];
    expect(krippendorffAlphaNominal(unitsOf(observers))).toBeCloseTo(0.691, 3);
  });

  it('units coded once do not count; perfect agreement is 1; a single class throughout is undefined', () => {
    expect(krippendorffAlphaNominal([[1, 1], [2, 2, 2], [3], [1, 1]])).toBe(1);
    expect(krippendorffAlphaNominal([[1, 1], [1, 1, 1]])).toBeNaN();
    expect(krippendorffAlphaNominal([[1], [2]])).toBeNaN();
  });

  it('with two raters and no missing data it is close to kappa (Scott-style chance, small-sample corrected)', () => {
    const { a, b } = pairsFromTable([[30, 10, 5], [5, 20, 10], [5, 10, 5]]);
    const alpha = krippendorffAlphaNominal(a.map((x, i) => [x, b[i]]));
    expect(Math.abs(alpha - cohenKappa(a, b))).toBeLessThan(0.02);
  });
});
