/** What a run of the models over one video is, as the app shows and stores it. */

export interface RunSummary {
  runId: string;
  videoId: string;
  created: string;
  source: 'model' | 'import';
  label: string;
  /** How much of the video the run covers (an imported file may cover only a part of it). */
  coverage?: RunCoverage;
}

export interface RunCoverage {
  /** Frames with a prediction for at least one face, and the time they span (seconds). */
  frames: number;
  seconds: number;
  /** The video's own frame count and duration. */
  videoFrames: number;
  videoSeconds: number;
}

/** Per-frame series of one face in a run; arrays are aligned with `frames`. */
export interface FaceSeries {
  faceId: number;
  frames: number[];
  times: number[];
  valence: (number | null)[];
  arousal: (number | null)[];
  /** frames × 8 probabilities, row-major (null rows when absent). */
  expression: number[] | null;
  /** frames × 12 probabilities, row-major. */
  au: number[] | null;
  /** frames × 4 (x, y, w, h) in video pixels, when the run knows the face boxes. */
  boxes: number[] | null;
  /**
   * frames × 3 head pitch, yaw, roll in degrees, row-major (OpenFace's pose_Rx, pose_Ry, pose_Rz, same
   * signs: pitch > 0 head down, yaw > 0 turned towards the image's left, roll > 0 tilted towards the
   * image's right); null entries where unknown, null when the run has no head pose.
   */
  pose: (number | null)[] | null;
  /** frames × 2 gaze angles x, y in degrees (OpenFace's gaze_angle_x, gaze_angle_y: x > 0 looking towards the image's right, y > 0 down). */
  gaze: (number | null)[] | null;
}

export interface RunData extends RunSummary {
  faces: FaceSeries[];
  auThresholds: number[];
}

/** The face seen in most frames of a run. */
export const mainFace = (run: RunData): FaceSeries | undefined => [...run.faces].sort((a, b) => b.frames.length - a.frames.length)[0];
