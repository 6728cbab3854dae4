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
 * `range`: change of the measure over a full activation (inter-ocular units): the spread of the
 * measure on the acted-expressions clip (its 95th minus its 20th percentile), rounded.
 *
 * How the measures were chosen (reviewed against FACS and OpenFace 2.2, docs/starter-bundle.md):
 * - each moving feature is measured against a reference that the action does not move (the inner
 *   eye corners, the nasion), never against points that move with a neighbouring AU;
 * - the reference sits at about the same depth in the face as the moving feature (MediaPipe's
 *   canonical face, models/pretrained/canonical-face.ts), so nodding does not read as a brow or lid
 *   movement: with 15 mm between them, 10° of pitch would shift a 2-D height by 0.04 inter-ocular
 *   units, as much as a whole brow raise;
 * - only left–right symmetric x terms (differences of mirrored points), which turning the head
 *   leaves unchanged to first order.
 */
export interface AuRule {
  au: ActionUnit;
  what: string;
  terms: [number, 'x' | 'y', number][];
  range: number;
}

type Term = [number, 'x' | 'y', number];
/** Mean height of points (weights 1/n): combined with a minus sign, "these points rise". */
const meanY = (points: number[], weight = 1): Term[] => points.map((p) => [p, 'y', weight / points.length]);
const neg = (terms: Term[]): Term[] => terms.map(([i, a, w]) => [i, a, -w]);
/** "`moving` above `reference`": reference height − moving height (y points down). */
const above = (moving: number[], reference: number[]): Term[] => [...meanY(reference), ...neg(meanY(moving))];
const width = (left: number, right: number, weight = 1): Term[] => [[right, 'x', weight], [left, 'x', -weight]];

// Stable references (MediaPipe FaceMesh indices; depths from the canonical face).
const INNER_CANTHI = [133, 362]; // inner eye corners: the most stable points of the face, depth −1 mm
const EYE_CORNERS = [33, 133, 362, 263]; // all four eye corners, mean depth +2 mm
const NASION = [168]; // top of the nasal bridge, at the depth of the inner brows (−16 mm)
const MOUTH_CORNERS = [61, 291];

/**
 * Thickness ÷ width of the red of the lips (upper 0→13 plus lower 14→17) and lip height (0→17) ÷
 * width of the mouth on MediaPipe's canonical face (a test checks them against it). Stretching the
 * lips sideways (AU12, AU20) thins them at about constant area, so AU23/AU24 discount the thinning a
 * wider mouth explains: −Δthickness − (thickness/width)·Δwidth, the linearised loss of red area.
 */
export const LIP_RED_THICKNESS_PER_WIDTH = 0.29;
export const LIP_HEIGHT_PER_WIDTH = 0.4;

export const AU_RULES: AuRule[] = [
  {
    au: 'AU1', what: 'inner brows (107, 336) raised above the nasion (168)',
    terms: above([107, 336], NASION), range: 0.045,
  },
  {
    au: 'AU2', what: 'outer brows (lower edge 46, 53 / 276, 283) raised above the inner eye corners (133, 362)',
    terms: above([46, 53, 276, 283], INNER_CANTHI), range: 0.05,
  },
  {
    au: 'AU4', what: 'brows (lower edge 52, 65 / 282, 295) lowered towards the inner eye corners and inner brows (55, 285) drawn together',
    terms: [...neg(above([52, 65, 282, 295], INNER_CANTHI)), ...neg(width(55, 285, 0.5))], range: 0.08,
  },
  {
    au: 'AU6', what: 'cheeks below the eyes (117–119, 346–348) raised towards the eye-corner line',
    terms: above([117, 118, 119, 346, 347, 348], EYE_CORNERS), range: 0.07,
  },
  {
    au: 'AU7', what: 'lower lids (145, 374) raised towards the eye-corner line (the lid tightener narrows the eye from below)',
    terms: above([145, 374], EYE_CORNERS), range: 0.02,
  },
  {
    au: 'AU10', what: 'upper lip (0) raised towards the nose base (2)',
    terms: [[0, 'y', -1], [2, 'y', 1]], range: 0.1,
  },
  {
    au: 'AU12', what: 'mouth corners (61, 291) pulled apart and raised above the lip centre (13, 14)',
    terms: [...width(61, 291), [13, 'y', 0.25], [14, 'y', 0.25], [61, 'y', -0.25], [291, 'y', -0.25]], range: 0.3,
  },
  {
    // Kept after review: against the mid-cheeks (205, 425) it agreed better with OpenFace on the
    // smile clip but read laughs as AU15 (the cheeks rise more than the corners); against the nose
    // base it reads nodding as AU15. The lip centre moves with the jaw (AU25/26), a known weakness.
    au: 'AU15', what: 'mouth corners (61, 291) lowered below the lip centre (13, 14)',
    terms: [...meanY(MOUTH_CORNERS), ...neg(meanY([13, 14]))], range: 0.1,
  },
  {
    au: 'AU23', what: 'red of the lips (upper 0→13, lower 14→17) thinned beyond what a wider mouth explains',
    terms: [[13, 'y', -1], [0, 'y', 1], [17, 'y', -1], [14, 'y', 1], ...neg(width(61, 291, LIP_RED_THICKNESS_PER_WIDTH))], range: 0.11,
  },
  {
    au: 'AU24', what: 'lips pressed: total lip height (0→17) reduced beyond what a wider mouth explains',
    terms: [[17, 'y', -1], [0, 'y', 1], ...neg(width(61, 291, LIP_HEIGHT_PER_WIDTH))], range: 0.35,
  },
  {
    au: 'AU25', what: 'lips parted: gap between inner lips (13→14)',
    terms: [[14, 'y', 1], [13, 'y', -1]], range: 0.2,
  },
  {
    au: 'AU26', what: 'jaw dropped: chin (152) below the nose tip (1)',
    terms: [[152, 'y', 1], [1, 'y', -1]], range: 0.3,
  },
];

if (AU_RULES.map((r) => r.au).join() !== AUS.join()) throw new Error('AU_RULES must follow the AU order');

/** Percentile of a track's own measures taken as its neutral baseline, per segment, blended over segments. */
export const BASELINE_PERCENTILE = 0.2;
export const BASELINE_CARRY = 0.8;
/** AU probability at the baseline (logit −2.2) and at baseline + range (logit +2.2). */
export const AU_LOGIT_AT_BASELINE = -2.2;
export const AU_LOGIT_SPAN = 4.4;
