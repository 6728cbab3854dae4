import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ApiService } from '../../electron/api/service.js';
import type { TrainState } from '../../common/job-states.js';
import { loadAnyBundle } from '../../models/bundle/manifest.js';
import { defaultBundleDir } from '../../models/bundle/store.js';
import { freshDir, sampleVideo, tools, testRoots } from '../helpers/fixtures.js';

describe('training from the app on the project\'s annotations', () => {
  it('trains on annotated videos, reports progress, stops and resumes, exports and installs the bundle', async () => {
    process.env.AFFECT_STUDIO_DATA = freshDir('data');
    const s = new ApiService({ projectDir: freshDir('proj'), mode: 'web', roots: testRoots(), mediaUrl: (id) => id, tools, engine: { provider: 'cpu' } });
    const states: TrainState[] = [];
    s.on((name, payload) => {
      if (name === 'train.changed') states.push(payload as TrainState);
    });
    const wait = (status: TrainState['status']) => new Promise<TrainState>((resolve, reject) => {
      const t = setInterval(() => {
        const last = states[states.length - 1];
        if (last?.status === status) (clearInterval(t), resolve(last));
        if (last?.status === 'failed') (clearInterval(t), reject(new Error(last.error)));
      }, 50);
    });
    for (const [name, cls] of [['single_face.mp4', 4], ['WolfgangLanger_Pexels.mp4', 5]] as const) {
      const v = await s.call<'videos.open'>('videos.open', { path: sampleVideo(name) });
      await s.call('annotations.apply', { videoId: v.videoId, annotator: 'ann', ops: [
        { type: 'segment.add', segment: { id: 'a', start: 0, end: 2, cls } },
        { type: 'trace.start', trace: { id: 't', dims: 'va', input: 'mouse', started: 'x' } },
        { type: 'trace.samples', id: 't', samples: Array.from({ length: 40 }, (_, i) => [i * 0.05, cls === 4 ? 0.6 : -0.6, 0.2] as [number, number, number]) },
      ] });
    }
    await expect(s.call('train.install', {})).rejects.toThrow(/no finished training run/);
    await s.call('train.start', { preset: 'laptop-gru', epochs: 200 });
    await expect(s.call('train.start', { preset: 'laptop-gru' })).rejects.toThrow(/a training run is going on/);
    // stop as soon as the first epoch is recorded, then resume
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (states.some((x) => x.history.length >= 1)) {
          clearInterval(t);
          void s.call('train.stop', {});
          resolve();
        }
      }, 20);
    });
    const stopped = await wait('stopped');
    const reached = Math.max(...stopped.history.map((h) => h.epoch));
    expect(reached).toBeLessThan(200);
    states.length = 0;
    await s.call('train.start', { preset: 'laptop-gru', epochs: reached + 1 });
    const done = await wait('done');
    expect(done.history.map((h) => h.epoch)).toEqual(Array.from({ length: reached + 1 }, (_, i) => i + 1));
    expect(done.videos).toBe(2);
    expect(existsSync(path.join(done.bundleDir as string, 'bundle.json'))).toBe(true);
    const { ref } = await s.call<'train.install'>('train.install', {});
    expect(ref).toBe(`laptop-gru@1.0.0-e${reached + 1}-s0`);
    expect(loadAnyBundle(defaultBundleDir()).manifest.provenance.trainedOn).toMatch(/annotations of 2 video\(s\)/);
  });
});
