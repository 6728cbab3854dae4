/**
 * What used to be silently wrong is now loud, through the real command line: wrong ffmpeg/ffprobe
 * binaries, pictures passed as videos, eval on damaged predictions or duplicated labels, ABAW rows
 * without a face, NaN/Inf feature rows, a feature cache damaged on disk, ensembles of broken
 * bundles or on missing features.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { NATIVE_COLUMNS } from '../../electron/engine/export/columns.js';
import { AUS, EXPRESSIONS } from '../../common/labels.js';
import { NpyWriter } from '../../models/data/npy.js';
import { runCli } from '../helpers/cli.js';
import { randomGruBundle } from '../helpers/bundles.js';
import { freshDir, sampleVideo, testPatternVideo, tools } from '../helpers/fixtures.js';
import { SYNTHETIC_DIM, writeSyntheticSet } from '../helpers/synthetic.js';

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('video tools and inputs', () => {
  it('--ffmpeg /bin/false is blamed on ffmpeg, not the video; --ffprobe /bin/true likewise', async () => {
    const video = testPatternVideo(10, 25);
    const f = await runCli(['predict', video, '--out', freshDir('o'), '--ffmpeg', '/bin/false']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/ffmpeg at \/bin\/false does not work \(`ffmpeg -version` failed: it exited with status 1\) \(--ffmpeg\)/);
    expect(f.stderr).not.toMatch(/testsrc/);
    const p = await runCli(['features', video, '--out', freshDir('o'), '--ffprobe', '/bin/true']);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/\/bin\/true is not ffprobe \(`ffprobe -version` printed nothing\)/);
    noStack(f.stderr + p.stderr);
  });

  it('a picture or a text file is not a video', async () => {
    const dir = freshDir('stills');
    const png = path.join(dir, 'frame.png');
    execFileSync(tools.ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x48', '-frames:v', '1', png]);
    writeFileSync(path.join(dir, 'art.ans'), 'hello\n');
    const r = await runCli(['predict', png, path.join(dir, 'art.ans'), '--out', freshDir('o')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/frame\.png: is not a video \(ffprobe reads it as "png_pipe", png\)/);
    expect(r.stderr).toMatch(/art\.ans: is not a video \(ffprobe reads it as "tty", ansi\)/);
  });
});

describe('eval refuses to score what it cannot', () => {
  const labels = ['image,valence,arousal,expression,aus', ...[1, 2, 3, 4].map((k) => `v1/0000${k}.jpg,${(k - 2.5) / 4},0.${k},${k % 3},${AUS.map((_, j) => (j + k) % 2).join(',')}`)];
  const row = (frame: number, v: number | string = 0.1) => [frame, (frame - 1) / 30, 0, 0.99, 1, v, 0.2, 'Happiness', ...EXPRESSIONS.map((_, i) => (i === frame % 3 ? 0.9 : 0.01)), ...AUS.map(() => 0.6)];
  const setup = (columns: string[], rows: (string | number)[][], labelLines = labels) => {
    const dir = freshDir('eval');
    writeFileSync(path.join(dir, 'labels.txt'), `${labelLines.join('\n')}\n`);
    mkdirSync(path.join(dir, 'pred'));
    // rows carry no head pose or gaze: those cells stay empty, as for a frame without a fit
    writeFileSync(path.join(dir, 'pred', 'v1.csv'), stringify([columns, ...rows.map((r) => [...r, ...Array(Math.max(0, columns.length - r.length)).fill('')])]));
    return ['eval', '--pred', path.join(dir, 'pred'), '--labels', path.join(dir, 'labels.txt')];
  };

  it('one NaN prediction: exit 2 naming the video, frame and column', async () => {
    const r = await runCli(setup([...NATIVE_COLUMNS], [row(1), row(2, 'NaN'), row(3), row(4)]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/1 labelled task value\(s\) are predicted as NaN or infinity \(first: v1\/00002, column "valence"\)/);
    noStack(r.stderr);
  });

  it('a renamed valence column: exit 2 naming the column and the file', async () => {
    const r = await runCli(setup(NATIVE_COLUMNS.map((c) => (c === 'valence' ? 'val' : c)), [1, 2, 3, 4].map((k) => row(k))));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/v1\.csv: column "valence" missing from the header/);
  });

  it('a labelled task with no prediction in any row: exit 1 naming it, even with --allow-missing', async () => {
    const rows = [1, 2, 3, 4].map((k) => row(k)).map((r) => r.map((x, i) => (NATIVE_COLUMNS[i] === 'arousal' ? '' : x)));
    const args = setup([...NATIVE_COLUMNS], rows);
    const r = await runCli(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/arousal cannot be scored: 4 labelled task value\(s\) have no prediction in their row \(first: v1\/00001, column "arousal"\)/);
    const allowed = await runCli([...args, '--allow-missing']);
    expect(allowed.code).toBe(1);
  });

  it('a frame labelled twice: exit 2 naming both lines', async () => {
    const r = await runCli(setup([...NATIVE_COLUMNS], [1, 2, 3, 4].map((k) => row(k)), [...labels, labels[2].replace(/,0\.2,/, ',0.9,')]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/labels\.txt: line 6: frame v1\/00002\.jpg is labelled twice \(lines 3 and 6\)/);
  });
});

describe('predict on frames without faces', () => {
  it('--format abaw on a video with no face: placeholder rows, said on the terminal and in run.json', async () => {
    const out = freshDir('abaw');
    const r = await runCli(['predict', testPatternVideo(10, 25), '--out', out, '--format', 'abaw']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/! ABAW output: no face in any of the 10 frames; every row is the placeholder V 0, A 0, Neutral, no AU \(not a prediction\)/);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'));
    expect(run.videos['testsrc-10-25-160x120'].warnings.join()).toMatch(/placeholder/);
    expect(readFileSync(path.join(out, 'testsrc-10-25-160x120.abaw.txt'), 'utf8').trim().split('\n')).toHaveLength(11);
  });

  it('predict --features: rows with stray NaN/Inf are reported per video, all-NaN rows counted as no face', async () => {
    const dir = freshDir('feats');
    const w = new NpyWriter(path.join(dir, 'clip.npy'), SYNTHETIC_DIM);
    for (let k = 0; k < 40; k++) {
      const v = Float32Array.from({ length: SYNTHETIC_DIM }, (_, j) => Math.sin(k + j));
      if (k === 7) v[3] = NaN;
      if (k === 9) v[0] = Infinity;
      w.append(k >= 30 ? undefined : v);
    }
    w.close();
    const bundle = randomGruBundle(freshDir('b'), [{ id: 'synthetic', version: '1', dim: SYNTHETIC_DIM }]);
    const out = freshDir('pred');
    const r = await runCli(['predict', '--features', dir, '-b', bundle, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/✓ clip: 40 frames \(10 without a face: all-NaN rows\)/);
    expect(r.stderr).toMatch(/! 2 frame\(s\) have NaN\/Inf among finite features \(first: frame 8, column 3 = NaN\); they are predicted as frames without a face/);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'));
    expect(run.videos.clip.warnings).toHaveLength(1);
    expect(run.videos.clip.noFaceFrames).toBe(10);
  });
});

describe('the feature cache checks what it reads', () => {
  it('a cached file damaged on disk at the same size is detected and recomputed', async () => {
    const cache = freshDir('cache');
    const first = freshDir('f1');
    const args = ['features', sampleVideo('single_face.mp4'), '-x', 'landmarks', '--cache', cache];
    expect((await runCli([...args, '--out', first])).code).toBe(0);
    const entry = path.join(cache, readdirSync(cache)[0]);
    const key = readdirSync(entry).find((n) => !n.includes('.staging-')) as string;
    const file = path.join(entry, key, 'landmarks@1.npy');
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(64, 0x41), 0, 64, size - 4096); // same size, other bytes
    closeSync(fd);
    const second = freshDir('f2');
    const r = await runCli([...args, '--out', second]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/! feature cache entry .* was not used \(landmarks@1\.npy does not match its checksum \(damaged on disk\)\); recomputed/);
    const hash = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(hash(path.join(second, 'single_face.features.npy'))).toBe(hash(path.join(first, 'single_face.features.npy')));
    const third = await runCli([...args, '--out', freshDir('f3')]);
    expect(third.stderr).toMatch(/\(from cache\)/);
    expect(third.stderr).not.toMatch(/was not used/);
  });
});

describe('ensemble on broken inputs', () => {
  const setup = () => {
    const data = writeSyntheticSet(freshDir('data'), { trainVideos: 1, valVideos: 2, frames: 60, seed: 3 });
    const extractors = [{ id: 'synthetic', version: '1', dim: SYNTHETIC_DIM }];
    return { data, a: randomGruBundle(freshDir('a'), extractors), b: randomGruBundle(freshDir('b'), extractors) };
  };
  const copy = (dir: string) => {
    const to = freshDir('copy');
    for (const f of readdirSync(dir)) copyFileSync(path.join(dir, f), path.join(to, f));
    return to;
  };

  it('a corrupt bundle: one line naming its file', async () => {
    const { data, a, b } = setup();
    const bad = copy(b);
    writeFileSync(path.join(bad, 'bundle.json'), '{"format":');
    const r = await runCli(['ensemble', a, bad, '--val', data.val, '--features', data.features, '--out', path.join(freshDir('e'), 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bundle\.json: cannot be read as JSON/);
    const junk = copy(b);
    const m = JSON.parse(readFileSync(path.join(junk, 'bundle.json'), 'utf8'));
    writeFileSync(path.join(junk, m.model.file), 'junk bytes');
    m.model.sha256 = createHash('sha256').update('junk bytes').digest('hex');
    writeFileSync(path.join(junk, 'bundle.json'), JSON.stringify(m));
    const r2 = await runCli(['ensemble', a, junk, '--val', data.val, '--features', data.features, '--out', path.join(freshDir('e'), 'x')]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/model\.onnx: cannot load model test-gru@0\.0\.1/);
    noStack(r.stderr + r2.stderr);
  });

  it('features missing for the validation videos: one line saying which', async () => {
    const { data, a, b } = setup();
    const other = freshDir('other');
    copyFileSync(path.join(data.features, readdirSync(data.features)[0]), path.join(other, 'unrelated.npy'));
    const r = await runCli(['ensemble', a, b, '--val', data.val, '--features', other, '--out', path.join(freshDir('e'), 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/none of the 2 validation videos have a features file here \(first missing: val-video-0\.npy\)/);
    noStack(r.stderr);
  });
});
