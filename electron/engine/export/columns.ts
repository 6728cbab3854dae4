/**
 * Column layouts of the prediction CSVs, defined once (docs/predict.md).
 */
import { AUS, EXPRESSIONS } from '../../../common/labels.js';

/** The native format: one row per face per frame, every decoded (processed) frame present. */
export const NATIVE_COLUMNS = [
  'frame', 'timestamp', 'face_id', 'face_score', 'success', 'valence', 'arousal', 'expression',
  ...EXPRESSIONS, ...AUS,
] as const;

/** OpenFace 2.x names: AU01 rather than AU1; _r (here: probability) and _c (presence at the bundle's threshold). */
export const openFaceAu = (au: string): string => `AU${au.slice(2).padStart(2, '0')}`;
export const OPENFACE_COLUMNS = [
  'frame', 'face_id', 'timestamp', 'confidence', 'success',
  ...AUS.map((a) => `${openFaceAu(a)}_r`), ...AUS.map((a) => `${openFaceAu(a)}_c`),
];

/** The ABAW multi-task challenge layout (header of its annotation and submission files). */
export const ABAW_HEADER = 'image,valence,arousal,expression,aus';
