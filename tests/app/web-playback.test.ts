/**
 * Web mode: a deep link keeps its query through the token redirect, and a video's playback copy is
 * made as a job (progress, then `video.proxy`), served by the media route with `?copy=1` for opened
 * videos only, reused, and cancellable.
 */
import http from 'node:http';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiService } from '../../electron/api/service.js';
import type { EventName, Events } from '../../electron/api/contract.js';
import { startWebServer, withoutToken, type RunningServer } from '../../electron/server/web-server.js';
import { freshDir, sampleVideo, tools, testRoots } from '../helpers/fixtures.js';

/** A GET without following redirects (fetch hides a 302's Location). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('web mode', () => {
  let server: RunningServer;
  let service: ApiService;
  let copiesDir: string;
  const events: { name: EventName; payload: Events[EventName] }[] = [];
  const origin = () => new URL(server.url).origin;
  const auth = () => ({ Authorization: `Bearer ${server.token}` });

  beforeAll(async () => {
    const ui = freshDir('ui');
    writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>ui</title>');
    copiesDir = freshDir('copies');
    service = new ApiService({ roots: testRoots(), projectDir: freshDir('proj'), mode: 'web', mediaUrl: (id) => `/media/${encodeURIComponent(id)}`, tools, engine: { provider: 'cpu', playbackCopiesDir: copiesDir } });
    service.on((name, payload) => events.push({ name, payload }));
    server = await startWebServer({ service, staticDir: ui });
  });
  afterAll(() => server?.close());

  const nextEvent = <E extends EventName>(name: E, match: (p: Events[E]) => boolean): Promise<Events[E]> =>
    new Promise((resolve) => {
      const seen = events.find((e) => e.name === name && match(e.payload as Events[E]));
      if (seen) return resolve(seen.payload as Events[E]);
      const off = service.on((n, p) => {
        if ((n as EventName) === name && match(p as Events[E])) {
          off();
          resolve(p as Events[E]);
        }
      });
    });

  it('the token redirect keeps a deep link\'s other parameters', async () => {
    const r = await get(`${origin()}/?token=${server.token}&video=${encodeURIComponent('/data/my clip.mp4')}&t=12.5`);
    expect(r.status).toBe(302);
    expect(r.headers['set-cookie']?.[0]).toMatch(/^affect_studio_token_\d+=.*HttpOnly/);
    const location = new URL(r.headers.location as string, origin());
    expect(location.pathname).toBe('/');
    expect(location.searchParams.get('video')).toBe('/data/my clip.mp4');
    expect(location.searchParams.get('t')).toBe('12.5');
    expect(location.searchParams.has('token')).toBe(false);
    // the redirect never leaves this server
    expect(withoutToken(new URL(`${origin()}/.//evil.example/x?token=abc`))).toBe('/evil.example/x');
    expect(withoutToken(new URL(`${origin()}/?token=abc`))).toBe('/');
  });

  it('makes a playback copy as a job and serves it with ?copy=1, for opened videos only', async () => {
    const call = async (method: string, args: unknown) => {
      const r = await fetch(`${origin()}/api/${method}`, { method: 'POST', body: JSON.stringify(args), headers: { ...auth(), 'Content-Type': 'application/json' } });
      return r.json() as Promise<Record<string, unknown>>;
    };
    const v = (await call('videos.open', { path: sampleVideo('single_face.mp4') })) as { videoId: string; proxyUrl?: string; frameCount: number };
    expect(v.proxyUrl).toBeUndefined();
    expect((await get(`${origin()}/media/${v.videoId}?copy=1`, auth())).status).toBe(404);

    const started = await call('videos.proxy', { videoId: v.videoId });
    expect(started.mediaUrl).toBeNull();
    const jobId = started.jobId as string;
    expect(jobId).toMatch(/^job-/);
    expect((await call('videos.proxy', { videoId: v.videoId })).jobId).toBe(jobId); // asking again joins the job
    const ready = await nextEvent('video.proxy', (p) => p.jobId === jobId);
    expect(ready).toEqual({ videoId: v.videoId, jobId, mediaUrl: `/media/${v.videoId}?copy=1` });
    const progress = events.filter((e) => e.name === 'job.progress' && (e.payload as Events['job.progress']).jobId === jobId).map((e) => e.payload as Events['job.progress']);
    expect(progress.every((p) => p.stage === 'playback copy')).toBe(true);
    expect(progress[progress.length - 1]).toMatchObject({ done: v.frameCount, total: v.frameCount });

    const copy = readdirSync(copiesDir).find((f) => f.endsWith('.mp4')) as string;
    const served = await get(`${origin()}${ready.mediaUrl}`, auth());
    expect(served.status).toBe(200);
    expect(served.headers['content-type']).toBe('video/mp4');
    expect(served.body.length).toBe(statSync(path.join(copiesDir, copy)).size);
    const original = await get(`${origin()}/media/${v.videoId}`, auth());
    expect(original.body.length).toBe(statSync(sampleVideo('single_face.mp4')).size);

    expect(await call('videos.proxy', { videoId: v.videoId })).toEqual({ mediaUrl: ready.mediaUrl, jobId: null });
    expect((await call('videos.open', { path: sampleVideo('single_face.mp4') })).proxyUrl).toBe(ready.mediaUrl);
    expect((await get(`${origin()}/media/not-opened?copy=1`, auth())).status).toBe(404);
    expect((await get(`${origin()}${ready.mediaUrl}`)).status).toBe(401);
  });

  it('a playback copy job can be cancelled, leaving nothing behind', async () => {
    const dir = freshDir('copies-cancel');
    const s = new ApiService({ roots: testRoots(), projectDir: freshDir('proj'), mode: 'web', mediaUrl: (id) => `/media/${id}`, tools, engine: { provider: 'cpu', playbackCopiesDir: dir } });
    const failed = new Promise<Events['job.failed']>((resolve) => s.on((n, p) => n === 'job.failed' && resolve(p as Events['job.failed'])));
    const v = await s.call<'videos.open'>('videos.open', { path: sampleVideo('WolfgangLanger_Pexels.mp4') });
    const { jobId } = await s.call<'videos.proxy'>('videos.proxy', { videoId: v.videoId });
    expect(await s.call('jobs.cancel', { jobId })).toEqual({ cancelled: true });
    expect(await failed).toEqual({ jobId, error: 'cancelled', cancelled: true });
    expect(readdirSync(dir).filter((f) => f !== 'sources')).toEqual([]);
    expect(s.playbackCopyFile(v.videoId)).toBeUndefined();
  });
});
