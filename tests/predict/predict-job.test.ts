import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { resolveFaceSettings } from '../../electron/engine/features/face-settings.js';
import { DEFAULT_MAX_GAP_SECONDS, Predictor } from '../../electron/engine/predict/predictor.js';
import { runPredictJob } from '../../electron/engine/predict/predict-job.js';
import { ensureStarterBundle } from '../../models/starter/starter-bundle.js';
import { freshDir, sampleVideo, tools } from '../helpers/fixtures.js';

describe('a predict job that is the predictor\'s last', () => {
  it('stops the extractor worker once the last video\'s features are done; later videos give the same bytes in this thread', async () => {
    const predictor = await Predictor.create({
      provider: 'cpu', workers: 1, bundleDirs: [ensureStarterBundle()], maxGapSeconds: DEFAULT_MAX_GAP_SECONDS,
      video: { tools, face: resolveFaceSettings({ end: 1 }), cacheDir: false },
    });
    const features = predictor.features;
    if (!features) throw new Error('a predictor on videos has a feature pipeline');
    const videos = [{ file: sampleVideo('single_face.mp4'), stem: 'single' }, { file: sampleVideo('WolfgangLanger_Pexels.mp4'), stem: 'acted' }];
    const job = async (list: typeof videos, lastJob: boolean) => {
      const outDir = freshDir('job');
      const workersAtEnd: Record<string, number> = {};
      const record = await runPredictJob(predictor, list, { outDir, format: 'native', resume: false, lastJob }, {
        onVideoEnd: (video) => { workersAtEnd[video.stem] = features.workers; },
      });
      const csv = (stem: string) => readFileSync(path.join(outDir, `${stem}.csv`), 'utf8');
      return { record, workersAtEnd, csv };
    };

    // a job with more to come keeps its worker for the next one
    const pooled = await job(videos, false);
    expect(pooled.workersAtEnd).toEqual({ single: 1, acted: 1 });

    const last = await job(videos, true);
    expect(last.workersAtEnd).toEqual({ single: 1, acted: 0 });
    expect(Object.values(last.record.videos).map((v) => v.status)).toEqual(['done', 'done']);
    // the record still names the models the worker ran
    expect(last.record.models?.map((m) => m.label)).toContain('expression (worker)');
    for (const stem of ['single', 'acted']) expect(last.csv(stem)).toBe(pooled.csv(stem));

    // without the worker this thread runs every extractor itself: the same predictions
    const inThread = await job(videos.slice(0, 1), false);
    expect(features.workers).toBe(0);
    expect(inThread.csv('single')).toBe(pooled.csv('single'));
    expect(inThread.csv('single').split('\n').length).toBeGreaterThan(20);
  }, 120_000);
});
