/**
 * Column layouts of the prediction CSVs, defined once (docs/predict.md), and the names of the head
 * pose and gaze values (the `pose` and `gaze` feature blocks use the same names and order).
 */
import { AUS, EXPRESSIONS } from '../../../common/labels.js';

/** OpenFace 2.x head pose: translation (mm, camera frame) then rotation (radians), its order. */
export const OPENFACE_POSE_COLUMNS = ['pose_Tx', 'pose_Ty', 'pose_Tz', 'pose_Rx', 'pose_Ry', 'pose_Rz'] as const;
/** OpenFace 2.x gaze: unit vectors of eye 0 (image-left) and eye 1, then the two angles (radians). */
export const OPENFACE_GAZE_COLUMNS = ['gaze_0_x', 'gaze_0_y', 'gaze_0_z', 'gaze_1_x', 'gaze_1_y', 'gaze_1_z', 'gaze_angle_x', 'gaze_angle_y'] as const;

/** Native head pose and gaze, degrees: OpenFace's pose_Rx, pose_Ry, pose_Rz and gaze_angle_x, gaze_angle_y, same signs. */
export const NATIVE_POSE_COLUMNS = ['pose_pitch', 'pose_yaw', 'pose_roll'] as const;
export const NATIVE_GAZE_COLUMNS = ['gaze_x', 'gaze_y'] as const;

/** The native format: one row per face per frame, every decoded (processed) frame present. */
export const NATIVE_COLUMNS = [
  'frame', 'timestamp', 'face_id', 'face_score', 'success', 'valence', 'arousal', 'expression',
  ...EXPRESSIONS, ...AUS, ...NATIVE_POSE_COLUMNS, ...NATIVE_GAZE_COLUMNS,
] as const;

/** OpenFace 2.x names: AU01 rather than AU1; _r (here: probability) and _c (presence at the bundle's threshold). */
export const openFaceAu = (au: string): string => `AU${au.slice(2).padStart(2, '0')}`;
export const OPENFACE_COLUMNS = [
  'frame', 'face_id', 'timestamp', 'confidence', 'success',
  ...OPENFACE_GAZE_COLUMNS, ...OPENFACE_POSE_COLUMNS,
  ...AUS.map((a) => `${openFaceAu(a)}_r`), ...AUS.map((a) => `${openFaceAu(a)}_c`),
];

/** Py-Feat's emotion columns, and the ABAW expression each one takes its probability from ("Other" has none). */
export const PYFEAT_EMOTIONS = [
  ['anger', 'Anger'], ['disgust', 'Disgust'], ['fear', 'Fear'], ['happiness', 'Happiness'],
  ['sadness', 'Sadness'], ['surprise', 'Surprise'], ['neutral', 'Neutral'],
] as const satisfies readonly (readonly [string, (typeof EXPRESSIONS)[number]])[];
/** Py-Feat's head pose columns (degrees). */
export const PYFEAT_POSE_COLUMNS = ['Pitch', 'Roll', 'Yaw'] as const;
/**
 * Py-Feat's `Fex` layout (the columns of its detector's CSV that we can fill, in its order), then
 * two of ours it has no counterpart for: the real timestamp and the face track.
 */
export const PYFEAT_COLUMNS = [
  'frame', 'FaceRectX', 'FaceRectY', 'FaceRectWidth', 'FaceRectHeight', 'FaceScore',
  ...AUS.map(openFaceAu), ...PYFEAT_POSE_COLUMNS, ...PYFEAT_EMOTIONS.map(([name]) => name), 'input',
  'timestamp', 'face_id',
];

/** The ABAW multi-task challenge layout (header of its annotation and submission files). */
export const ABAW_HEADER = 'image,valence,arousal,expression,aus';
