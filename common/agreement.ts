/** Agreement between annotators, and of a model run with each. */

export interface AgreementReport {
  annotators: string[];
  /** Between annotators, on valence and arousal traces resampled at the video's frames. */
  pairs: { a: string; b: string; cccValence: number | null; cccArousal: number | null; iccValence: number | null; iccArousal: number | null; expressionF1: number | null }[];
  /** The head-pose filter applied to every statistic, and how many of the video's frames it kept. */
  poseFilter?: { maxYaw: number | null; maxPitch: number | null; framesKept: number; framesDropped: number };
  /** Model (a run) against each annotator. */
  model?: { runId: string; versus: { annotator: string; cccValence: number | null; cccArousal: number | null; expressionF1: number | null; auF1: number | null }[] };
}
