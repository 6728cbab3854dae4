/**
 * Agreement between human raters: Cohen's kappa per pair and Krippendorff's alpha over all of them
 * on expression segments, frame counts per task, and tiers a model pre-filled left out.
 */
import { describe, expect, it } from 'vitest';
import { agreement, isModelOnly } from '../../electron/engine/annotations/agreement.js';
import { applyOps, emptyDoc, type AnnotationDoc } from '../../common/annotations.js';

const times = Array.from({ length: 10 }, (_, k) => k / 10);
const video = { path: '/v.mp4', name: 'v.mp4' };

function tier(annotator: string, segments: [number, number, number][], source: 'human' | 'model' = 'human'): AnnotationDoc {
  const doc = emptyDoc(video, annotator, '2026-01-01T00:00:00Z');
  segments.forEach(([start, end, cls], i) => doc.segments.push({ id: `s${i}`, start, end, cls, source }));
  return doc;
}

describe('agreement between human raters on expressions', () => {
  // per frame (0.0 … 0.9 s):  ana 4 4 4 4 4 0 0 0 0 0 | bob 4 4 4 0 0 0 0 0 0 0 | cy 4 4 4 4 4 - - - - -
  const ana = tier('ana', [[0, 0.45, 4], [0.45, 1, 0]]);
  const bob = tier('bob', [[0, 0.25, 4], [0.25, 1, 0]]);
  const cy = tier('cy', [[0, 0.45, 4]]);
  const pre = tier('pre', [[0, 1, 6]], 'model');
  pre.traces.push({ id: 'm', dims: 'va', input: 'model', started: 'x', samples: times.map((t) => [t, 0.2, 0.1]) });

  const report = agreement([ana, bob, pre, cy], times);

  it('a tier made only by a model pre-fill is not a rater', () => {
    expect(report.annotators).toEqual(['ana', 'bob', 'cy']);
    expect(report.excluded).toEqual(['pre']);
    expect(report.pairs.map((p) => `${p.a}-${p.b}`)).toEqual(['ana-bob', 'ana-cy', 'bob-cy']);
  });

  it("Cohen's kappa and frame counts per pair, worked by hand", () => {
    const [ab, ac, bc] = report.pairs;
    // ana–bob: 10 frames, agree on 8; ana 5×4 5×0, bob 3×4 7×0 → p_e = .5·.3 + .5·.7 = .5 → κ = (.8 − .5)/.5
    expect(ab.frames).toEqual({ valence: 0, arousal: 0, expression: 10 });
    expect(ab.kappaExpression).toBeCloseTo(0.6, 12);
    // ana–cy: 5 frames, both Happiness throughout: chance agreement is 1, kappa undefined
    expect(ac.frames.expression).toBe(5);
    expect(ac.kappaExpression).toBeNull();
    // bob–cy: 5 frames, agree on 3; cy always 4 → p_e = .6 = p_o → κ = 0
    expect(bc.kappaExpression).toBeCloseTo(0, 12);
    expect(ab.cccValence).toBeNull();
  });

  it("Krippendorff's alpha over the frames at least two raters coded, worked by hand", () => {
    // units 0–2 [4,4,4]: o44 += 3 each; units 3–4 [4,0,4]: o40, o04, o44 += 1 each; units 5–9 [0,0]: o00 += 2 each
    // o44 = 11, o40 = o04 = 2, o00 = 10 → n4 = 13, n0 = 12, n = 25 → α = 1 − 24·4 / (2·13·12) = 9/13
    expect(report.alphaExpression.frames).toBe(10);
    expect(report.alphaExpression.alpha).toBeCloseTo(9 / 13, 12);
  });

  it('one edit by a person makes a pre-filled tier a rater', () => {
    const edited = applyOps(pre, [{ type: 'segment.update', id: 's0', patch: { end: 0.95 } }]);
    expect(isModelOnly(pre)).toBe(true);
    expect(isModelOnly(edited)).toBe(false);
    expect(isModelOnly(emptyDoc(video, 'new', 'now'))).toBe(false);
    const again = agreement([ana, edited], times);
    expect(again.excluded).toEqual([]);
    expect(again.pairs[0].frames.expression).toBe(10);
  });

  it('fewer than two raters: no pairs, alpha undefined', () => {
    const lone = agreement([ana, pre], times);
    expect(lone.pairs).toEqual([]);
    expect(lone.alphaExpression).toEqual({ alpha: null, frames: 0 });
  });
});
