/** What a run of the models over one video is, as the app shows and stores it. */

export interface RunSummary {
  runId: string;
  videoId: string;
  created: string;
  source: 'model' | 'import';
  label: string;
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
}

export interface RunData extends RunSummary {
  faces: FaceSeries[];
  auThresholds: number[];
}

/** The face seen in most frames of a run. */
export const mainFace = (run: RunData): FaceSeries | undefined => [...run.faces].sort((a, b) => b.frames.length - a.frames.length)[0];
