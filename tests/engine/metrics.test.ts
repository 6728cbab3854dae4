import { describe, expect, it } from 'vitest';
import { auF1, ccc, f1, icc31, macroF1, pMtl, tuneThreshold } from '../../common/metrics.js';

describe('challenge metrics, worked by hand', () => {
  it('CCC', () => {
    // x = [1,2,3], y = [2,4,6]: means 2 and 4, var 2/3 and 8/3, cov 4/3 → 2·(4/3) / (2/3 + 8/3 + 4) = 8/22
    expect(ccc([1, 2, 3], [2, 4, 6])).toBeCloseTo(8 / 22, 12);
    expect(ccc([0.1, 0.5, -0.3], [0.1, 0.5, -0.3])).toBeCloseTo(1, 12);
    expect(ccc([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    // a constant prediction has zero covariance: CCC 0, whatever its value
    expect(ccc([0.2, 0.2, 0.2, 0.2], [-0.5, 0.1, 0.4, 0.8])).toBe(0);
    expect(ccc([0.3, 0.3], [0.3, 0.3])).toBe(1);
    // a shifted copy is penalised by the mean difference: var 2/3 each, shift 1 → 2·(2/3)/(4/3 + 1) = 4/7
    expect(ccc([1, 2, 3], [2, 3, 4])).toBeCloseTo(4 / 7, 12);
  });

  it('binary F1', () => {
    expect(f1(3, 1, 2)).toBeCloseTo(6 / 9, 12);
    expect(f1(0, 4, 4)).toBe(0);
    expect(f1(0, 0, 0)).toBe(0);
  });

  it('macro F1 over all classes; a class never present or never predicted scores 0', () => {
    // labels 0,0,1,1,2 ; preds 0,1,1,1,0 with 4 classes
    // class 0: tp1 fp1 fn1 → 0.5; class 1: tp2 fp1 fn0 → 0.8; class 2: tp0 → 0; class 3: never present → 0
    const r = macroF1([0, 1, 1, 1, 0], [0, 0, 1, 1, 2], 4);
    expect(r.perClass).toEqual([0.5, 0.8, 0, 0]);
    expect(r.mean).toBeCloseTo(1.3 / 4, 12);
    // a constant prediction: only its class can score
    const c = macroF1([0, 0, 0, 0], [0, 1, 0, 1], 2);
    expect(c.perClass[0]).toBeCloseTo(2 / 3, 12);
    expect(c.perClass[1]).toBe(0);
  });

  it('AU F1 at a threshold, and threshold tuning', () => {
    const p = [0.9, 0.6, 0.4, 0.3, 0.1];
    const y = [1, 1, 1, 0, 0];
    expect(auF1(p, y, 0.5)).toBeCloseTo(0.8, 12); // tp 2, fn 1
    expect(auF1(p, y, 0.35)).toBe(1);
    const t = tuneThreshold(p, y);
    expect(t.f1).toBe(1);
    expect(t.threshold).toBeGreaterThan(0.3);
    expect(t.threshold).toBeLessThanOrEqual(0.4);
    expect(auF1([0.2, 0.2], [0, 0], 0.5)).toBe(0); // an AU that never occurs
  });

  it('ICC(3,1) between raters', () => {
    // Shrout & Fleiss (1979), Table 2: 6 targets × 4 judges → ICC(3,1) = 0.71
    const sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]];
    expect(icc31(sf)).toBeCloseTo(0.7148, 3);
    // a constant offset between raters does not lower consistency
    expect(icc31([[1, 3], [2, 4], [5, 7]])).toBeCloseTo(1, 12);
    expect(icc31([[1, 2]])).toBeNaN();
  });

  it('P_MTL', () => {
    expect(pMtl(0.6, 0.4, 0.3, 0.5)).toBeCloseTo(1.3, 12);
  });
});
