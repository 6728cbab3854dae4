/**
 * How much of a video a run covers: the frames with a prediction for at least one face, and the
 * time they stand for. An imported file may cover a fraction of the video (OpenFace run on a clip
 * of it, a Py-Feat file of one image): the UI warns when a run covers far less than the video.
 */
import type { RunCoverage } from '../../../common/run-data.js';
import type { PredictionRow } from '../predict/predictor.js';

/** The video a run belongs to: every frame's presentation time, and its duration. */
export interface VideoTimeline {
  frameTimes: number[];
  durationSec: number;
}

/** What a run covers: frames (1-based numbers) with a prediction, and the seconds they last. */
export type Covered = Pick<RunCoverage, 'frames' | 'seconds'>;

const predicted = (r: PredictionRow): boolean =>
  r.faceId !== undefined && (r.valence !== undefined || r.arousal !== undefined || r.expression !== undefined || r.au !== undefined);

/**
 * A frame lasts until the next frame of the video (the last one: the video's end, or a typical
 * frame interval). Without the video's frame times the rows' own timestamps are the timeline.
 */
export function coveredBy(rows: PredictionRow[], video?: VideoTimeline): Covered {
  const frames = [...new Set(rows.filter(predicted).map((r) => r.frame))].sort((a, b) => a - b);
  let times: number[];
  if (video?.frameTimes.length) times = video.frameTimes;
  else {
    const byFrame = new Map<number, number>();
    let maxFrame = 0;
    for (const r of rows) {
      if (!byFrame.has(r.frame)) byFrame.set(r.frame, r.timestamp);
      maxFrame = Math.max(maxFrame, r.frame);
    }
    times = Array.from({ length: maxFrame }, (_, k) => byFrame.get(k + 1) ?? NaN);
  }
  const steps = times.slice(1).map((t, k) => t - times[k]).filter((d) => d > 0).sort((a, b) => a - b);
  const typical = steps.length ? steps[steps.length >> 1] : 1 / 30;
  let seconds = 0;
  for (const f of frames) {
    const t = times[f - 1], next = times[f];
    if (Number.isFinite(t) && Number.isFinite(next) && next > t) seconds += next - t;
    else if (Number.isFinite(t) && f === times.length && video && video.durationSec > t) seconds += Math.min(video.durationSec - t, 2 * typical);
    else seconds += typical;
  }
  return { frames: frames.length, seconds };
}

/** A run's coverage next to its video's size. */
export function coverageOf(covered: Covered, video: VideoTimeline): RunCoverage {
  return { ...covered, videoFrames: video.frameTimes.length, videoSeconds: video.durationSec };
}
