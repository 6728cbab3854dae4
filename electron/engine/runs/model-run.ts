/**
 * A model run on one of the project's videos, started from the app: predict every face in every
 * frame, then keep the predictions (and face boxes) in the project's run store.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { VideoProgress } from '../features/pipeline.js';
import type { PredictionRow, Predictor } from '../predict/predictor.js';
import type { RunStore } from './run-store.js';

export async function runModelOnVideo(
  predictor: Predictor,
  runs: RunStore,
  video: { videoId: string; path: string },
  o: { signal?: AbortSignal; onProgress?: (p: { done: number; total: number; stage: string }) => void },
): Promise<string> {
  const runId = runs.newRunId();
  const workDir = path.join(runs.root, '.work', runId);
  try {
    // the app shows every prediction of the video: it keeps them all, as the run store does
    const rows: PredictionRow[] = [];
    const { features, facesCsv } = await predictor.predict(video.path, {
      workDir, stem: 'video', signal: o.signal,
      onProgress: (p: VideoProgress) => o.onProgress?.({ done: p.done, total: p.total, stage: 'faces and features' }),
    }, { begin() {}, write: (r) => rows.push(r) });
    o.onProgress?.({ done: 1, total: 1, stage: 'temporal models' });
    const label = predictor.bundles.map((b) => `${b.id}${predictor.bundles.length > 1 ? ` ×${b.weight}` : ''}`).join(' + ');
    runs.save(video.videoId, {
      runId, videoId: video.videoId, created: new Date().toISOString(), source: 'model', label, auThresholds: predictor.auThresholds,
      details: { bundles: predictor.bundles, executionProvider: predictor.provider, warnings: features.warnings },
    }, rows, facesCsv);
    return runId;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
