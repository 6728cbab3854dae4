/**
 * A full disk, for real: a 2 MiB tmpfs mounted for the test (skipped, with the reason, where
 * mounting is not permitted). Each failure is one line naming the file, no temporary file stays
 * behind, and the work goes on where it can.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { freshDir, sampleVideo, testPatternVideo } from '../helpers/fixtures.js';
import { serve, type Served } from '../e2e/server.js';

let mountPoint: string;
let cannotMount: string | undefined;

beforeAll(() => {
  mountPoint = freshDir('tmpfs');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (err) {
    cannotMount = `mounting a 2 MiB tmpfs is not permitted here (${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()})`;
  }
});

afterAll(() => {
  if (!cannotMount) execFileSync('umount', ['-l', mountPoint]);
});

/** Every file below `dir`, relative (temporary files would show up here). */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

/** Bytes the files below `dir` take on the tmpfs (whole pages). */
const fileBytes = (dir: string): number => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
  .reduce((a, e) => a + Math.ceil(statSync(path.join(e.parentPath, e.name)).size / 4096) * 4096, 0);

const fresh = (name: string) => {
  const d = path.join(mountPoint, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d);
  return d;
};

describe('disk full', () => {
  it('predict: the video that does not fit fails with one line naming the file; the next one is done; run.json records both', async ({ skip }) => {
    skip(!!cannotMount, cannotMount);
    const out = fresh('pred');
    // predict keeps no features in --out (they stream from the feature cache): leave it 96 KiB, in
    // which the 72-frame clip's table and predictions fit and the 472-frame clip's do not
    const filler = path.join(mountPoint, 'filler');
    writeFileSync(filler, Buffer.alloc(2048 * 1024 - 96 * 1024 - fileBytes(mountPoint)));
    let r;
    try {
      r = await runCli(['predict', sampleVideo('WolfgangLanger_Pexels.mp4'), sampleVideo('single_face.mp4'), '--out', out]);
    } finally {
      rmSync(filler);
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/✗ \[1\/2\] WolfgangLanger_Pexels\.mp4: .*: cannot write.* \(the disk is full\) — free some space, or write to another folder, and run again/);
    expect(r.stderr).toMatch(/✓ \[2\/2\] single_face\.mp4: 72 frames/);
    expect(r.stderr).toMatch(/done: 1 succeeded, 1 failed/);
    expect(r.stderr).not.toMatch(/ENOSPC|\n\s+at /);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'));
    expect(run.videos.WolfgangLanger_Pexels).toMatchObject({ status: 'failed', error: expect.stringMatching(/the disk is full/) });
    expect(run.videos.single_face.status).toBe('done');
    expect(files(out)).toEqual(['run.json', 'single_face.csv']);
  });

  it('features: no temporary file left behind, the next video is not disturbed by the first one\'s failure', async ({ skip }) => {
    skip(!!cannotMount, cannotMount);
    const out = fresh('feat');
    const r = await runCli(['features', sampleVideo('WolfgangLanger_Pexels.mp4'), sampleVideo('single_face.mp4'), '-x', 'landmarks', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/✗ \[1\/2\] WolfgangLanger_Pexels\.mp4: .*WolfgangLanger_Pexels\.features\.npy: cannot write \(the disk is full\)/);
    expect(r.stderr).toMatch(/✓ \[2\/2\] single_face\.mp4/);
    expect(r.stderr).not.toMatch(/ENOSPC|EBADF|\n\s+at /);
    expect(files(out)).toEqual(['single_face.faces.csv', 'single_face.features.json', 'single_face.features.npy']);
  });

  it('a full cache folder: the staging is removed and the error names it', async ({ skip }) => {
    skip(!!cannotMount, cannotMount);
    const cache = fresh('cache');
    const out = freshDir('feat-out');
    const r = await runCli(['features', sampleVideo('WolfgangLanger_Pexels.mp4'), testPatternVideo(10, 25), '-x', 'landmarks', '--cache', cache, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/✗ \[1\/2\] WolfgangLanger_Pexels\.mp4: .*\.staging-[^:]+: cannot write \(the disk is full\)/);
    expect(r.stderr).toMatch(/✓ \[2\/2\] testsrc-10-25-160x120\.mp4/);
    expect(files(cache).some((f) => f.includes('.staging-'))).toBe(false);
  });

  it('annotations on a full disk: the edit is refused with the file named, the journal stays whole, the server goes on', async ({ skip }) => {
    skip(!!cannotMount, cannotMount);
    const dir = fresh('serve');
    let s: Served | undefined;
    try {
      s = await serve(dir);
      const server = s;
      const call = async (method: string, args: unknown) => {
        const res = await fetch(`${server.origin}/api/${method}`, { method: 'POST', body: JSON.stringify(args), headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' } });
        return { status: res.status, body: (await res.json()) as { error?: string; file?: string; hint?: string; videoId?: string; segments?: { id: string }[] } };
      };
      const { body: v } = await call('videos.open', { path: testPatternVideo(30, 25) });
      const seg = (id: string) => ({ type: 'segment.add', segment: { id, start: 0.1, end: 0.4, cls: 2 } });
      expect((await call('annotations.apply', { videoId: v.videoId, annotator: 'kim', ops: [seg('before')] })).status).toBe(200);
      // fill the disk to the last few bytes
      const filler = path.join(dir, 'filler');
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4096'], { stdio: 'pipe' });
      } catch {
        /* dd stops when the disk is full */
      }
      const samples = Array.from({ length: 2000 }, (_, i) => [i * 0.01, 0.5, -0.5]);
      const full = await call('annotations.apply', { videoId: v.videoId, annotator: 'kim', ops: [{ type: 'trace.start', trace: { id: 't', dims: 'va', input: 'mouse', started: 'now' } }, { type: 'trace.samples', id: 't', samples }] });
      expect(full.status).toBe(400);
      expect(full.body.error).toMatch(/cannot save the edit to the annotation journal \(the disk is full\)/);
      expect(full.body.file).toMatch(/kim\.journal\.jsonl$/);
      rmSync(filler);
      expect((await call('annotations.apply', { videoId: v.videoId, annotator: 'kim', ops: [seg('after')] })).status).toBe(200);
      await s.stop();
      s = await serve(dir);
      const again = s;
      const reopened = await fetch(`${again.origin}/api/videos.open`, { method: 'POST', body: JSON.stringify({ path: testPatternVideo(30, 25) }), headers: { Authorization: `Bearer ${again.token}`, 'Content-Type': 'application/json' } });
      const id = ((await reopened.json()) as { videoId: string }).videoId;
      const doc = await fetch(`${again.origin}/api/annotations.load`, { method: 'POST', body: JSON.stringify({ videoId: id, annotator: 'kim' }), headers: { Authorization: `Bearer ${again.token}`, 'Content-Type': 'application/json' } });
      const body = (await doc.json()) as { segments: { id: string }[]; traces: unknown[] };
      expect(body.segments.map((x) => x.id)).toEqual(['before', 'after']);
      expect(body.traces).toEqual([]); // the refused edit is not half there
      expect(files(path.join(dir, 'project', 'annotations')).some((f) => f.includes('.cut-') || f.endsWith('.tmp'))).toBe(false);
    } finally {
      await s?.stop();
    }
  });

  it('a read-only output folder stops before any work, with one line', async ({ skip }) => {
    skip(!!cannotMount, cannotMount);
    const ro = freshDir('ro');
    let mounted = false;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', ro], { stdio: 'pipe' });
      mounted = true;
      const r = await runCli(['predict', testPatternVideo(10, 25), '--out', ro]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/cannot write to the output folder \(EROFS\)/);
      expect(existsSync(path.join(ro, 'run.json'))).toBe(false);
    } finally {
      if (mounted) execFileSync('umount', ['-l', ro]);
    }
    writeFileSync(path.join(ro, 'x'), ''); // writable again once unmounted
  });
});
