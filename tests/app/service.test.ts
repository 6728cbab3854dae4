import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ApiService } from '../../electron/api/service.js';
import { parseRange } from '../../electron/api/media.js';
import { CLI } from '../helpers/cli.js';
import { freshDir, repoRoot, sampleVideo, testPatternVideo, tools, testRoots, testRootArgs } from '../helpers/fixtures.js';
import { UserError } from '../../common/errors.js';

const service = (dir = freshDir('proj')) => new ApiService({ projectDir: dir, mode: 'web', roots: testRoots(), mediaUrl: (id) => `/media/${id}`, tools, engine: { provider: 'cpu' } });

describe('API service', () => {
  it('validates every argument and names the field', async () => {
    const s = service();
    await expect(s.call('videos.open', { path: 7 })).rejects.toThrow(/invalid arguments for videos\.open: "path"/);
    await expect(s.call('annotations.load', { videoId: 'x', annotator: '../../etc' })).rejects.toThrow(/"annotator"/);
    await expect(s.call('nope.nothing', {})).rejects.toThrow(/unknown API method/);
    await expect(s.call('annotations.load', { videoId: 'never-opened', annotator: 'a' })).rejects.toThrow(/is not open/);
  });

  it('serves only opened files', async () => {
    const s = service();
    const v = await s.call<'videos.open'>('videos.open', { path: testPatternVideo(10, 25) });
    expect(s.mediaFile(v.videoId)).toBe(path.resolve(testPatternVideo(10, 25)));
    expect(s.mediaFile('other')).toBeUndefined();
    expect(v.frameTimes).toHaveLength(10);
    expect(v.frameTimes[3]).toBeCloseTo(0.12, 6);
  });

  it('parses HTTP ranges', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=95-200', 100)).toEqual({ start: 95, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBeNull();
    expect(parseRange('items=1-2', 100)).toBeNull();
  });

  it('annotations: export to ABAW per-task files and import them back', async () => {
    const s = service();
    const v = await s.call<'videos.open'>('videos.open', { path: testPatternVideo(30, 25) });
    await s.call('annotations.apply', {
      videoId: v.videoId, annotator: 'ana', ops: [
        { type: 'segment.add', segment: { id: 'a', start: 0.2, end: 0.6, cls: 4 } },
        { type: 'au.add', range: { id: 'b', au: 'AU12', start: 0.4, end: 0.8 } },
        { type: 'trace.start', trace: { id: 't', dims: 'va', input: 'mouse', started: 'now' } },
        { type: 'trace.samples', id: 't', samples: [[0, 0.5, -0.5], [0.5, 0.7, -0.2], [0.9, 0.1, 0.1]] },
      ],
    });
    const dir = freshDir('abaw');
    const { files } = await s.call<'annotations.export'>('annotations.export', { videoId: v.videoId, annotator: 'ana', dir });
    expect(files.map((f) => path.relative(dir, f)).sort()).toEqual([
      'AU_Detection_Challenge/testsrc-30-25-160x120.txt', 'EXPR_Recognition_Challenge/testsrc-30-25-160x120.txt', 'VA_Estimation_Challenge/testsrc-30-25-160x120.txt',
    ]);
    const expr = readFileSync(files.find((f) => f.includes('EXPR')) as string, 'utf8').trim().split('\n');
    expect(expr).toHaveLength(31); // header + 30 frames
    expect(expr[5 + 1]).toBe('4'); // frame 6 at 0.20 s
    expect(expr[4 + 1]).toBe('-1');
    const va = readFileSync(files.find((f) => f.includes('VA_')) as string, 'utf8').trim().split('\n');
    expect(va[1]).toBe('0.5000,-0.5000');
    expect(va[24]).toBe('-5,-5'); // frame 23 at 0.92 s: after the take ended
    const au = readFileSync(files.find((f) => f.includes('AU_')) as string, 'utf8').trim().split('\n');
    expect(au[1].split(',').every((x) => x === '-1')).toBe(true); // before any AU coding
    expect(au[11].split(',')[6]).toBe('1'); // frame 11 at 0.40 s: AU12

    const proposal = await s.call<'annotations.import'>('annotations.import', { videoId: v.videoId, annotator: 'bob', dir });
    expect(proposal.summary).toEqual({ segments: 1, aus: 1, traces: 1, keptSegments: 0, keptAus: 0, keptTraces: 0, clipped: 0 });
    expect(await s.call<'annotations.list'>('annotations.list', { videoId: v.videoId })).toEqual(['ana']); // proposing writes nothing
    await s.call('annotations.apply', { videoId: v.videoId, annotator: 'bob', ops: proposal.ops });
    const back = await s.call<'annotations.load'>('annotations.load', { videoId: v.videoId, annotator: 'bob' });
    expect(back.segments).toHaveLength(1);
    expect(back.segments[0]).toMatchObject({ cls: 4 });
    expect(back.segments[0].start).toBeCloseTo(0.2, 6);
    expect(back.segments[0].end).toBeCloseTo(0.6, 6);
    expect(back.aus).toHaveLength(1);
    expect(back.traces[0].samples.length).toBeGreaterThan(20);
    expect(back.traces[0].input).toBe('import');
    const report = await s.call<'agreement.compute'>('agreement.compute', { videoId: v.videoId });
    expect(report.annotators).toEqual(['ana', 'bob']);
    expect(report.pairs[0].expressionF1).toBeCloseTo(1 / 8, 6); // identical segments: Happiness 1, seven classes absent
    expect(report.pairs[0].cccValence).toBeCloseTo(1, 6);
  });

  it('a bad import folder is a clear error', async () => {
    const s = service();
    const v = await s.call<'videos.open'>('videos.open', { path: testPatternVideo(10, 25) });
    const err = await s.call('annotations.import', { videoId: v.videoId, annotator: 'x', dir: freshDir('empty') }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).describe()).toMatch(/no testsrc-10-25-160x120\.txt in VA_Estimation_Challenge/);
  });

  it('imports a real OpenFace 2.x CSV (", " separators) as a run', async ({ skip }) => {
    skip(!existsSync(path.resolve(repoRoot, '../shared/data/peer-outputs/OpenFace_Test.csv')), 'needs ../shared/data/peer-outputs/OpenFace_Test.csv (absent on this machine)');
    const s = service();
    const v = await s.call<'videos.open'>('videos.open', { path: testPatternVideo(10, 25) });
    const run = await s.call<'runs.import'>('runs.import', { videoId: v.videoId, path: path.resolve(repoRoot, '../shared/data/peer-outputs/OpenFace_Test.csv') });
    expect(run.label).toMatch(/OpenFace CSV: OpenFace_Test\.csv/);
    const data = await s.call<'runs.get'>('runs.get', { runId: run.runId });
    expect(data.faces[0].frames.length).toBe(100); // frames 1–100 (the README of peer-outputs says 99)
    const au12 = data.faces[0].au as number[];
    expect(au12.every((x) => Number.isNaN(x) || (x >= 0 && x <= 1))).toBe(true);
    expect(au12.some((x) => x > 0)).toBe(true);
  });

  it('runs the default bundle with progress events, then pre-fills annotations and compares with them', async () => {
    const s = service();
    const v = await s.call<'videos.open'>('videos.open', { path: sampleVideo('single_face.mp4') });
    const events: string[] = [];
    const done = new Promise<string>((resolve, reject) => {
      s.on((name, payload) => {
        events.push(name);
        if (name === 'job.done') resolve((payload as { runId: string }).runId);
        if (name === 'job.failed') reject(new Error((payload as { error: string }).error));
      });
    });
    await s.call('runs.start', { videoId: v.videoId, bundles: [] });
    const runId = await done;
    expect(events).toContain('job.progress');
    const run = await s.call<'runs.get'>('runs.get', { runId });
    expect(run.faces).toHaveLength(1);
    expect(run.faces[0].frames).toHaveLength(72);
    const [listed] = await s.call<'runs.list'>('runs.list', { videoId: v.videoId });
    expect(listed.coverage).toEqual({ frames: 72, seconds: expect.closeTo(v.durationSec, 2), videoFrames: 72, videoSeconds: v.durationSec });
    expect(run.faces[0].boxes?.slice(0, 4).every(Number.isFinite)).toBe(true);
    // head pose and gaze per frame, in degrees: a frontal face looking at the camera
    expect(run.faces[0].pose).toHaveLength(72 * 3);
    expect(run.faces[0].gaze).toHaveLength(72 * 2);
    expect(run.faces[0].pose?.every((x) => x !== null && Math.abs(x) < 15)).toBe(true);
    expect(run.faces[0].gaze?.every((x) => x !== null && Math.abs(x) < 30)).toBe(true);
    const all = await s.call<'agreement.compute'>('agreement.compute', { videoId: v.videoId, runId, poseFilter: { maxYaw: 30 } });
    expect(all.poseFilter).toEqual({ maxYaw: 30, maxPitch: null, framesKept: 72, framesDropped: 0 });
    const pitches = (run.faces[0].pose as number[]).filter((_, i) => i % 3 === 0);
    const limit = [...pitches].map(Math.abs).sort((a, b) => a - b)[36];
    const half = await s.call<'agreement.compute'>('agreement.compute', { videoId: v.videoId, runId, poseFilter: { maxPitch: limit } });
    expect(half.poseFilter?.framesKept).toBe(pitches.filter((p) => Math.abs(p) <= limit).length);
    expect(half.poseFilter?.framesDropped).toBeGreaterThan(0);
    const noRun = await s.call('agreement.compute', { videoId: v.videoId, poseFilter: { maxYaw: 30 } }).then(() => undefined, (e: unknown) => e);
    expect((noRun as UserError).message).toMatch(/poseFilter.*needs a run/);
    // the annotator coded the first second herself: a pre-fill proposes the rest and keeps hers
    const mine = { type: 'segment.add' as const, segment: { id: 'mine', start: 0, end: 1, cls: 5 } };
    await s.call('annotations.apply', { videoId: v.videoId, annotator: 'pre', ops: [mine] });
    const proposal = await s.call<'annotations.prefill'>('annotations.prefill', { videoId: v.videoId, annotator: 'pre', runId });
    expect(proposal.summary.keptSegments).toBe(1);
    expect(proposal.summary.segments).toBeGreaterThan(0);
    expect(proposal.summary.traces).toBe(1);
    const added = proposal.ops.flatMap((op) => (op.type === 'segment.add' ? [op.segment] : []));
    expect(added.every((x) => x.source === 'model' && x.confidence !== undefined && x.start >= 1 - 1e-9)).toBe(true);
    await s.call('annotations.apply', { videoId: v.videoId, annotator: 'pre', ops: proposal.ops });
    const doc = await s.call<'annotations.load'>('annotations.load', { videoId: v.videoId, annotator: 'pre' });
    expect(doc.segments.find((x) => x.id === 'mine')).toMatchObject({ start: 0, end: 1, cls: 5, source: 'human' });
    expect(doc.segments).toHaveLength(1 + proposal.summary.segments);
    const report = await s.call<'agreement.compute'>('agreement.compute', { videoId: v.videoId, runId });
    expect(report.excluded).toEqual([]); // her own segment makes the tier a rater
    expect(report.model?.versus[0].cccValence).toBeCloseTo(1, 3); // the V/A pre-fill is the run itself
  });
});

describe('annotations survive the process being killed', () => {
  it('every acknowledged edit is there after kill -9 and a restart', async () => {
    const dir = freshDir('killproj');
    const start = async () => {
      const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--project', dir, ...testRootArgs()], { env: { ...process.env, AFFECT_STUDIO_DATA: freshDir('data') } });
      const url = await new Promise<URL>((resolve, reject) => {
        let out = '';
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /(http:\/\/\S+\?token=\S+)/.exec(out);
          if (m) resolve(new URL(m[1]));
        });
        proc.on('exit', () => reject(new Error(out)));
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const api = async (method: string, args: unknown): Promise<any> => {
        const r = await fetch(`${url.origin}/api/${method}`, { method: 'POST', body: JSON.stringify(args), headers: { Authorization: `Bearer ${url.searchParams.get('token')}`, 'Content-Type': 'application/json' } });
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const body = (await r.json()) as any;
        if (!r.ok) throw new Error(body.error);
        return body;
      };
      return { proc, api };
    };
    const first = await start();
    const video = await first.api('videos.open', { path: testPatternVideo(30, 25) });
    // a rating take sent in quarter-second batches, as the UI does, and a segment
    await first.api('annotations.apply', { videoId: video.videoId, annotator: 'kim', ops: [{ type: 'trace.start', trace: { id: 't1', dims: 'va', input: 'mouse', started: 'now' } }] });
    for (let b = 0; b < 8; b++) {
      const samples = Array.from({ length: 6 }, (_, i) => [(b * 6 + i) * 0.04, 0.1 * (i % 3), -0.1]);
      await first.api('annotations.apply', { videoId: video.videoId, annotator: 'kim', ops: [{ type: 'trace.samples', id: 't1', samples }] });
    }
    await first.api('annotations.apply', { videoId: video.videoId, annotator: 'kim', ops: [{ type: 'segment.add', segment: { id: 's1', start: 0.1, end: 0.5, cls: 6 } }] });
    first.proc.kill('SIGKILL'); // no chance to compact or flush
    await new Promise((r) => first.proc.once('exit', r));

    const second = await start();
    const again = await second.api('videos.open', { path: testPatternVideo(30, 25) });
    const doc = await second.api('annotations.load', { videoId: again.videoId, annotator: 'kim' });
    expect(doc.traces[0].samples).toHaveLength(48);
    expect(doc.segments).toEqual([expect.objectContaining({ id: 's1', cls: 6 })]);
    second.proc.kill('SIGTERM');
  });
});
