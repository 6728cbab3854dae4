/** Agreement between annotators, and of a model run with each. */

export interface AgreementReport {
  /** Human annotators compared (tiers whose every item came from a model pre-fill are not raters). */
  annotators: string[];
  /** Tiers left out because nothing in them was made by a person. */
  excluded: string[];
  /**
   * Between annotators, at the video's frames: CCC / ICC(3,1) on valence and arousal traces; on
   * expression segments macro F1 and Cohen's kappa; `frames` counts the frames both coded, per task.
   */
  pairs: {
    a: string; b: string;
    cccValence: number | null; cccArousal: number | null; iccValence: number | null; iccArousal: number | null;
    expressionF1: number | null; kappaExpression: number | null;
    frames: { valence: number; arousal: number; expression: number };
  }[];
  /** Krippendorff's alpha (nominal) on expression segments over all human annotators, and the frames it used. */
  alphaExpression: { alpha: number | null; frames: number };
  /** The head-pose filter applied to every statistic, and how many of the video's frames it kept. */
  poseFilter?: { maxYaw: number | null; maxPitch: number | null; framesKept: number; framesDropped: number };
  /** Model (a run) against each annotator. */
  model?: { runId: string; versus: { annotator: string; cccValence: number | null; cccArousal: number | null; expressionF1: number | null; auF1: number | null }[] };
}
