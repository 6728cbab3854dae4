/**
 * The starter bundle's rules, as data: how it turns the pretrained per-frame networks into the
 * ABAW tasks without any training on Aff-Wild2. Documented in docs/starter-bundle.md.
 */
import { AUS, EXPRESSIONS, type ActionUnit } from '../../common/labels.js';
import { EMOTION_CLASSES } from '../pretrained/face-models.js';

/** ABAW expression ← index in the expression CNN's 7 outputs ("Other" has none: never predicted). */
export const EXPRESSION_SOURCE: Record<(typeof EXPRESSIONS)[number], number | undefined> = {
  Neutral: EMOTION_CLASSES.indexOf('neutral'),
  Anger: EMOTION_CLASSES.indexOf('angry'),
  Disgust: EMOTION_CLASSES.indexOf('disgust'),
  Fear: EMOTION_CLASSES.indexOf('fear'),
  Happiness: EMOTION_CLASSES.indexOf('happy'),
  Sadness: EMOTION_CLASSES.indexOf('sad'),
  Surprise: EMOTION_CLASSES.indexOf('surprise'),
  Other: undefined,
};

/**
 * Valence and arousal of each expression on the circumplex (approximate pleasure/arousal values
 * after Russell & Mehrabian, 1977); the starter's V/A is the probability-weighted mean.
 */
export const CIRCUMPLEX: Record<(typeof EXPRESSIONS)[number], [number, number]> = {
  Neutral: [0, 0],
  Anger: [-0.51, 0.59],
  Disgust: [-0.6, 0.35],
  Fear: [-0.64, 0.6],
  Happiness: [0.81, 0.51],
  Sadness: [-0.63, -0.27],
  Surprise: [0.4, 0.67],
  Other: [0, 0],
};

/**
 * Each AU's geometric measure is a weighted sum of normalised landmark coordinates (the
 * `landmarks` extractor: origin between the eyes, roll removed, unit = inter-ocular distance,
 * y pointing down), signed so that a larger value means more of the action.
 *   terms: [mesh index, 'x' | 'y', weight]
 * `range`: change of the measure over a full activation (inter-ocular units), hand-set and checked
 * on the acted-expressions clip.
 */
export interface AuRule {
  au: ActionUnit;
  what: string;
  terms: [number, 'x' | 'y', number][];
  range: number;
}

// eye-corner line heights (outer, inner corner) of each eye
const eyeR: [number, 'y', number][] = [[33, 'y', 0.5], [133, 'y', 0.5]];
const eyeL: [number, 'y', number][] = [[362, 'y', 0.5], [263, 'y', 0.5]];
const half = (terms: [number, 'x' | 'y', number][]): [number, 'x' | 'y', number][] => terms.map(([i, a, w]) => [i, a, w / 2]);
const neg = (terms: [number, 'x' | 'y', number][]): [number, 'x' | 'y', number][] => terms.map(([i, a, w]) => [i, a, -w]);

export const AU_RULES: AuRule[] = [
  { au: 'AU1', what: 'inner brows (107, 336) above the eye-corner line', terms: half([...eyeR, [107, 'y', -1], ...eyeL, [336, 'y', -1]]), range: 0.06 },
  { au: 'AU2', what: 'outer brows (70, 300) above the eye-corner line', terms: half([...eyeR, [70, 'y', -1], ...eyeL, [300, 'y', -1]]), range: 0.05 },
  { au: 'AU4', what: 'brows (105, 334) lowered towards the eyes and inner brows (107, 336) drawn together', terms: neg([...half([...eyeR, [105, 'y', -1], ...eyeL, [334, 'y', -1]]), [336, 'x', 0.5], [107, 'x', -0.5]]), range: 0.07 },
  { au: 'AU6', what: 'lower lids (145, 374) pushed up towards the eye-corner line (cheek raise)', terms: neg(half([[145, 'y', 1], ...neg(eyeR), [374, 'y', 1], ...neg(eyeL)])), range: 0.02 },
  { au: 'AU7', what: 'eye aperture (upper lid 159/386 to lower lid 145/374) narrowed', terms: neg(half([[145, 'y', 1], [159, 'y', -1], [374, 'y', 1], [386, 'y', -1]])), range: 0.06 },
  { au: 'AU10', what: 'upper lip (0) raised towards the nose base (2)', terms: [[0, 'y', -1], [2, 'y', 1]], range: 0.1 },
  { au: 'AU12', what: 'mouth corners (61, 291) pulled apart and raised above the lip centre (13, 14)', terms: [[291, 'x', 1], [61, 'x', -1], [13, 'y', 0.25], [14, 'y', 0.25], [61, 'y', -0.25], [291, 'y', -0.25]], range: 0.3 },
  { au: 'AU15', what: 'mouth corners (61, 291) lowered below the lip centre (13, 14)', terms: [[61, 'y', 0.5], [291, 'y', 0.5], [13, 'y', -0.5], [14, 'y', -0.5]], range: 0.1 },
  { au: 'AU23', what: 'red of the lips thinned (upper 0→13, lower 14→17)', terms: [[13, 'y', -1], [0, 'y', 1], [17, 'y', -1], [14, 'y', 1]], range: 0.09 },
  { au: 'AU24', what: 'lips pressed: total lip height (0→17) reduced', terms: [[17, 'y', -1], [0, 'y', 1]], range: 0.25 },
  { au: 'AU25', what: 'lips parted: gap between inner lips (13→14)', terms: [[14, 'y', 1], [13, 'y', -1]], range: 0.2 },
  { au: 'AU26', what: 'jaw dropped: chin (152) below the nose tip (1)', terms: [[152, 'y', 1], [1, 'y', -1]], range: 0.3 },
];

if (AU_RULES.map((r) => r.au).join() !== AUS.join()) throw new Error('AU_RULES must follow the AU order');

/** Percentile of a track's own measures taken as its neutral baseline, per segment, blended over segments. */
export const BASELINE_PERCENTILE = 0.2;
export const BASELINE_CARRY = 0.8;
/** AU probability at the baseline (logit −2.2) and at baseline + range (logit +2.2). */
export const AU_LOGIT_AT_BASELINE = -2.2;
export const AU_LOGIT_SPAN = 4.4;
