/** The API's types, as the UI uses them (type-only: nothing of the engine is bundled). */
export type {
  AgreementReport, AnnotationDoc, TrainState, TrainEpoch, AnnotationOp, BatchItem, BatchState, BundleSummary, FaceSeries, RunData, RunSummary, VideoSummary,
} from '../../../electron/api/contract.js';
import type { Responses } from '../../../electron/api/contract.js';
export type AppInfoT = Responses['app.info'];
export { EXPRESSIONS, AUS, topExpression } from '../../../common/labels.js';
