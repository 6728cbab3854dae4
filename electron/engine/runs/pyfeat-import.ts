/**
 * Py-Feat's CSV (the `Fex` table its Detector writes) as prediction rows. Py-Feat numbers video
 * frames from 0 and writes no timestamps: frame f is the video's frame f + 1, at that frame's real
 * time. Columns used (electron/engine/export/columns.ts has the layout we write ourselves):
 * - `FaceRectX/Y/Width/Height`, `FaceScore`: the face box; a row without them (NaN) has no face;
 * - `AU01 … AU43`: AU probabilities, our 12 taken from them;
 * - `anger, disgust, fear, happiness, sadness, surprise, neutral`: our expressions; Other is 0;
 * - `Pitch, Roll, Yaw` (degrees): head pose, when present;
 * - the face: our own `face_id` column, else Py-Feat's `Identity` (≥ 0.7: "Person_0" …), else the
 *   face's place among the frame's rows;
 * - time: our own `timestamp` column, else the video's frame times, else Py-Feat's `approx_time`.
 */
import { AUS, EXPRESSIONS } from '../../../common/labels.js';
import { openFaceAu, PYFEAT_EMOTIONS, PYFEAT_POSE_COLUMNS } from '../export/columns.js';
import type { PredictionRow } from '../predict/predictor.js';
import type { VideoTimeline } from './coverage.js';

/** The columns that say a CSV is Py-Feat's. */
export const PYFEAT_REQUIRED = ['frame', 'FaceRectX', 'FaceScore'] as const;

export const isPyFeatHeader = (header: string[]): boolean =>
  PYFEAT_REQUIRED.every((c) => header.includes(c)) && (header.some((h) => /^AU\d\d$/.test(h)) || PYFEAT_EMOTIONS.some(([name]) => header.includes(name)));

/** A number, or null for an empty or NaN cell (pandas writes NaN as empty, some tools as "nan"). */
function cell(v: string | undefined): number | null {
  if (v === undefined || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

const RAD = Math.PI / 180;

export function pyFeatRows(records: Record<string, string>[], video?: VideoTimeline): PredictionRow[] {
  const steps = video ? video.frameTimes.slice(1).map((t, k) => t - video.frameTimes[k]).filter((d) => d > 0).sort((a, b) => a - b) : [];
  const step = steps.length ? steps[steps.length >> 1] : 1 / 30;
  const timeOf = (r: Record<string, string>, frame0: number): number => {
    const own = cell(r.timestamp);
    if (own !== null) return own;
    if (video?.frameTimes.length) {
      const n = video.frameTimes.length;
      return frame0 < n ? video.frameTimes[frame0] : video.frameTimes[n - 1] + (frame0 - n + 1) * step;
    }
    return cell(r.approx_time) ?? frame0 * step;
  };
  const identities = new Map<string, number>();
  const placeInFrame = new Map<number, number>();
  const hasEmotions = records.length > 0 && PYFEAT_EMOTIONS.some(([name]) => name in records[0]);
  const hasPose = records.length > 0 && PYFEAT_POSE_COLUMNS.every((c) => c in records[0]);
  return records.map((r) => {
    const frame0 = cell(r.frame) ?? 0;
    const row: PredictionRow = { frame: frame0 + 1, timestamp: timeOf(r, frame0) };
    const box = ['FaceRectX', 'FaceRectY', 'FaceRectWidth', 'FaceRectHeight'].map((c) => cell(r[c]));
    const score = cell(r.FaceScore);
    if (score === null || box.some((v) => v === null)) return row; // no face in this frame
    const place = placeInFrame.get(frame0) ?? 0;
    placeInFrame.set(frame0, place + 1);
    const identity = r.Identity?.trim();
    if (identity && !identities.has(identity)) identities.set(identity, identities.size);
    row.faceId = cell(r.face_id) ?? (identity ? (identities.get(identity) as number) : place);
    row.faceScore = score;
    const [x, y, w, h] = box as number[];
    row.box = { x, y, w, h };
    row.au = Float32Array.from(AUS, (a) => cell(r[openFaceAu(a)]) ?? NaN);
    if (hasEmotions) {
      const byExpression = new Map<string, number>(PYFEAT_EMOTIONS.map(([name, e]) => [e, cell(r[name]) ?? NaN]));
      row.expression = Float32Array.from(EXPRESSIONS, (e) => byExpression.get(e) ?? 0); // Other: Py-Feat has none
    }
    if (hasPose) {
      const [pitch, roll, yaw] = PYFEAT_POSE_COLUMNS.map((c) => cell(r[c]));
      // OpenFace's layout (pose_Tx…Tz unknown, then Rx pitch, Ry yaw, Rz roll), as the pyfeat export writes it
      if (pitch !== null && roll !== null && yaw !== null) row.pose = Float32Array.from([NaN, NaN, NaN, pitch * RAD, yaw * RAD, roll * RAD]);
    }
    return row;
  });
}
