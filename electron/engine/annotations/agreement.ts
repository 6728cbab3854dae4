/**
 * Agreement at the video's frames: between annotators (CCC and ICC(3,1) on V/A traces, F1 and
 * Cohen's kappa on expression segments per pair, Krippendorff's alpha over all of them), and of a
 * model run with each annotator, scored by the one evaluator
 * (common/evaluation.ts) exactly as `eval` scores predictions against labels.
 */
import type { AgreementReport } from '../../../common/agreement.js';
import { auAt, segmentAt, traceValueAt, type AnnotationDoc } from '../../../common/annotations.js';
import { Evaluator } from '../../../common/evaluation.js';
import { AUS, EXPRESSIONS } from '../../../common/labels.js';
import { ccc, cohenKappa, icc31, krippendorffAlphaNominal, macroF1 } from '../../../common/metrics.js';
import { mainFace, type FaceSeries, type RunData } from '../../../common/run-data.js';
import { UserError } from '../../../common/errors.js';

const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/**
 * A tier whose every item a model pre-fill made (segments and AU ranges from a model, traces with
 * input "model") and nothing else: it is not a rater, and agreement leaves it out. An empty tier is
 * kept (its pairs say it coded no frame); one edit by a person makes a tier a rater.
 */
export function isModelOnly(doc: AnnotationDoc): boolean {
  const items = doc.segments.length + doc.aus.length + doc.traces.length;
  return items > 0 && doc.segments.every((s) => s.source === 'model') && doc.aus.every((r) => r.source === 'model') && doc.traces.every((t) => t.input === 'model');
}

/** Head-pose limits (degrees) for agreement statistics: frames of larger |yaw| or |pitch| are left out. */
export interface PoseFilter {
  maxYaw?: number;
  maxPitch?: number;
}

/**
 * Which of the main face's rows pass the pose filter. A row without a pose estimate does not pass:
 * the filter keeps only frames known to be within the limits.
 */
function poseGate(face: FaceSeries, filter: PoseFilter): (i: number) => boolean {
  const pose = face.pose;
  if (!pose) throw new UserError('this run has no head pose to filter frames by', 'run the model again (runs made now carry head pose), or drop the pose filter');
  return (i) => {
    const pitch = pose[3 * i], yaw = pose[3 * i + 1];
    if (pitch === null || yaw === null) return false;
    return (filter.maxYaw === undefined || Math.abs(yaw) <= filter.maxYaw) && (filter.maxPitch === undefined || Math.abs(pitch) <= filter.maxPitch);
  };
}

/**
 * Agreement between annotators, and of a model run with each, at the video's frames (frameTimes[k]
 * is frame k + 1). With a pose filter, every statistic uses only the frames where the run's main face
 * is within the limits.
 */
export function agreement(docs: AnnotationDoc[], frameTimes: number[], run?: RunData, poseFilter?: PoseFilter): AgreementReport {
  const face = run && mainFace(run);
  let keepRow: (i: number) => boolean = () => true;
  let keepFrame: (k: number) => boolean = () => true;
  let filterReport: AgreementReport['poseFilter'];
  if (poseFilter) {
    if (!run) throw new UserError('a pose filter needs a run whose head pose it uses', 'choose a run');
    if (!face) throw new UserError('the run has no face to take the head pose from', 'choose another run');
    keepRow = poseGate(face, poseFilter);
    const rowOfFrame = new Map(face.frames.map((f, i) => [f, i]));
    keepFrame = (k) => {
      const i = rowOfFrame.get(k + 1);
      return i !== undefined && keepRow(i);
    };
    const kept = frameTimes.filter((_, k) => keepFrame(k)).length;
    filterReport = { maxYaw: poseFilter.maxYaw ?? null, maxPitch: poseFilter.maxPitch ?? null, framesKept: kept, framesDropped: frameTimes.length - kept };
  }
  const raters = docs.filter((d) => !isModelOnly(d));
  const excluded = docs.filter(isModelOnly).map((d) => d.annotator);
  // each rater's codes at every kept frame, read once (segmentAt / traceValueAt scan the document)
  const kept = frameTimes.flatMap((t, k) => (keepFrame(k) ? [t] : []));
  const coded = raters.map((d) => ({ expression: kept.map((t) => segmentAt(d, t)), va: kept.map((t) => traceValueAt(d, t)) }));
  const pairs: AgreementReport['pairs'] = [];
  for (let i = 0; i < raters.length; i++) {
    for (let j = i + 1; j < raters.length; j++) {
      const x = coded[i], y = coded[j];
      const v: number[][] = [], ar: number[][] = [], ea: number[] = [], eb: number[] = [];
      kept.forEach((_, f) => {
        const p = x.va[f], q = y.va[f];
        if (p.valence !== null && q.valence !== null) v.push([p.valence, q.valence]);
        if (p.arousal !== null && q.arousal !== null) ar.push([p.arousal, q.arousal]);
        const sa = x.expression[f], sb = y.expression[f];
        if (sa !== null && sb !== null) ea.push(sa), eb.push(sb);
      });
      pairs.push({
        a: raters[i].annotator, b: raters[j].annotator,
        cccValence: v.length > 1 ? orNull(ccc(v.map((p) => p[0]), v.map((p) => p[1]))) : null,
        cccArousal: ar.length > 1 ? orNull(ccc(ar.map((p) => p[0]), ar.map((p) => p[1]))) : null,
        iccValence: v.length > 1 ? orNull(icc31(v)) : null,
        iccArousal: ar.length > 1 ? orNull(icc31(ar)) : null,
        expressionF1: ea.length ? macroF1(eb, ea, EXPRESSIONS.length).mean : null,
        kappaExpression: ea.length ? orNull(cohenKappa(ea, eb)) : null,
        frames: { valence: v.length, arousal: ar.length, expression: ea.length },
      });
    }
  }
  // Krippendorff's alpha: a frame is a unit, coded by every rater whose segments cover it
  const units = kept.map((_, f) => coded.flatMap((c) => (c.expression[f] === null ? [] : [c.expression[f] as number]))).filter((u) => u.length >= 2);
  const report: AgreementReport = {
    annotators: raters.map((d) => d.annotator), excluded, pairs,
    alphaExpression: { alpha: units.length ? orNull(krippendorffAlphaNominal(units)) : null, frames: units.length },
  };
  if (filterReport) report.poseFilter = filterReport;
  if (run && face) {
    const E = EXPRESSIONS.length, A = AUS.length;
    report.model = {
      runId: run.runId,
      versus: raters.map((d) => {
        const evaluator = new Evaluator();
        face.times.forEach((t, i) => {
          if (!keepRow(i)) return;
          const h = traceValueAt(d, t);
          evaluator.add(
            { valence: face.valence[i] ?? undefined, arousal: face.arousal[i] ?? undefined, expression: face.expression?.slice(i * E, (i + 1) * E), au: face.au?.slice(i * A, (i + 1) * A) },
            { valence: h.valence ?? undefined, arousal: h.arousal ?? undefined, expression: segmentAt(d, t) ?? undefined, au: auAt(d, t) ?? undefined },
          );
        });
        const s = evaluator.scores(run.auThresholds);
        const counted = (x: number, n: number) => (n > 1 ? orNull(x) : null);
        return {
          annotator: d.annotator,
          cccValence: counted(s.cccValence, s.frames.valence),
          cccArousal: counted(s.cccArousal, s.frames.arousal),
          expressionF1: s.frames.expression ? orNull(s.f1Expression) : null,
          auF1: s.frames.au ? orNull(s.f1Au) : null,
        };
      }),
    };
  }
  return report;
}
