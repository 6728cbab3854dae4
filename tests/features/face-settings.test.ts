import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiService } from '../../electron/api/service.js';
import { DEFAULT_FACE_SETTINGS, resolveFaceSettings } from '../../electron/engine/features/face-settings.js';
import { UserError } from '../../common/errors.js';
import { runCli } from '../helpers/cli.js';
import { freshDir, sampleVideo, tools, testRoots } from '../helpers/fixtures.js';

/** The tracking runs in a feature cache: <cache>/<video hash>/<tracking key>/ */
const trackingEntries = (cache: string): string[] =>
  readdirSync(cache).flatMap((video) => readdirSync(path.join(cache, video)).filter((k) => !k.startsWith('.')).map((k) => `${video}/${k}`));

describe('face settings', () => {
  it('are resolved once: omitted fields take the defaults, so both spellings are the same settings', () => {
    const explicit = resolveFaceSettings({ stride: 1, start: undefined, maxSide: 1280, detectEvery: 5, minDetectionScore: 0.7, minFaceScore: 0.75, maxFaces: 0, reid: true });
    expect(explicit).toEqual(resolveFaceSettings());
    expect(resolveFaceSettings()).toEqual(DEFAULT_FACE_SETTINGS);
    expect(resolveFaceSettings({ stride: 3 }).stride).toBe(3);
  });

  it('a bad value is a user error naming the setting', () => {
    expect(() => resolveFaceSettings({ stride: 0 })).toThrow(UserError);
    expect(() => resolveFaceSettings({ minFaceScore: 1.5 })).toThrow(/minFaceScore/);
    expect(() => resolveFaceSettings({ start: 5, end: 2 })).toThrow(/ends .* before it starts/);
    expect(() => resolveFaceSettings({ bogus: 1 } as never)).toThrow(UserError);
  });

  it('the CLI (explicit defaults) and the app (no settings) share one feature-cache entry', async () => {
    const cache = freshDir('cache');
    const cli = await runCli(['features', sampleVideo('single_face.mp4'), '--out', freshDir('out'), '-x', 'expression,landmarks', '--cache', cache, '--ep', 'cpu']);
    expect(cli.code, cli.stderr).toBe(0);
    const afterCli = trackingEntries(cache);
    expect(afterCli).toHaveLength(1);

    const app = new ApiService({ projectDir: freshDir('proj'), mode: 'web', roots: testRoots(), mediaUrl: (id) => `/media/${id}`, tools, engine: { provider: 'cpu', cacheDir: cache } });
    const v = await app.call<'videos.open'>('videos.open', { path: sampleVideo('single_face.mp4') });
    const finished = new Promise<string>((resolve, reject) => app.on((name, payload) => {
      if (name === 'job.done') resolve((payload as { runId: string }).runId);
      if (name === 'job.failed') reject(new Error((payload as { error: string }).error));
    }));
    await app.call('runs.start', { videoId: v.videoId });
    const runId = await finished;
    const run = await app.call<'runs.get'>('runs.get', { runId });
    expect(run.faces[0].frames.length).toBe(72);
    // the app found the CLI's tracking and features: no second entry was made
    expect(trackingEntries(cache)).toEqual(afterCli);
  });
});
