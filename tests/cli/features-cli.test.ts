import { describe, expect, it } from 'vitest';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { ffmpegFixture, freshDir, haveSharedVideos, SKIP_SHARED, sampleVideo, sharedVideo, testPatternVideo } from '../helpers/fixtures.js';
import { humanModelsDir } from '../../models/pretrained/face-models.js';

describe('affect-studio features (command line)', () => {
  it('--help explains every flag', async () => {
    const r = await runCli(['features', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--out', '--extractors', '--stride', '--start', '--end', '--max-side', '--detect-every', '--min-detection-score',
      '--min-face-score', '--max-faces', '--no-reid', '--cache', '--no-cache', '--json', '--ep', '--threads', '--ffmpeg', '--ffprobe']) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toMatch(/faces\.csv/);
    expect(r.stdout).toMatch(/Exit status/);
  });

  it('a batch with bad files reports each one, processes the rest, and exits 1', async () => {
    const dir = freshDir('batch');
    const good = path.join(dir, 'good clip é.mp4');
    copyFileSync(testPatternVideo(8, 25), good);
    writeFileSync(path.join(dir, 'empty.mp4'), '');
    writeFileSync(path.join(dir, 'notes.mp4'), 'meeting notes, not a video\n'.repeat(30));
    const truncated = path.join(dir, 'truncated.mp4');
    copyFileSync(testPatternVideo(30, 25), truncated);
    truncateSync(truncated, 3000);
    copyFileSync(ffmpegFixture('tone.m4a', ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac']), path.join(dir, 'audio only.m4v'));
    writeFileSync(path.join(dir, 'readme.txt'), 'not a video extension: ignored when walking folders');
    const out = freshDir('out');
    const r = await runCli(['features', dir, '--out', out, '--extractors', 'landmarks', '--ep', 'cpu']);
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    const failed = (name: string) => lines.filter((l) => l.startsWith('✗') && l.includes(name));
    expect(failed('empty.mp4')).toHaveLength(1);
    expect(failed('empty.mp4')[0]).toMatch(/empty \(0 bytes\)/);
    expect(failed('notes.mp4')[0]).toMatch(/not a video ffmpeg can read/);
    expect(failed('truncated.mp4')[0]).toMatch(/truncated or corrupt/);
    expect(failed('audio only.m4v')[0]).toMatch(/no video stream \(audio only\)/);
    expect(lines.some((l) => l.startsWith('✓') && l.includes('good clip é.mp4'))).toBe(true);
    expect(r.stderr).toMatch(/done: 1 succeeded, 4 failed/);
    expect(r.stderr).not.toContain('readme.txt');
    expect(readdirSync(out).sort()).toEqual(['good clip é.faces.csv', 'good clip é.features.json', 'good clip é.features.npy']);
  });

  it('an output folder that cannot be created stops before any work, exit 2', async () => {
    const blocker = path.join(freshDir('ro'), 'a-file');
    writeFileSync(blocker, '');
    const r = await runCli(['features', testPatternVideo(8, 25), '--out', path.join(blocker, 'out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot write to the output folder \(ENOTDIR\).*choose another --out folder/);
  });

  it('bad arguments are usage errors (exit 2) with a pointer to --help', async () => {
    const r = await runCli(['features', testPatternVideo(8, 25), '--out', freshDir('o'), '--stride', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--stride.*whole number ≥ 1/);
    const r2 = await runCli(['features', testPatternVideo(8, 25), '--out', freshDir('o'), '--extractors', 'magic']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/unknown extractor "magic".*expression, faceres, landmarks/);
  });

  it('--ffmpeg / --ffprobe point at other binaries; a wrong one is a clear error', async () => {
    const r = await runCli(['features', testPatternVideo(8, 25), '--out', freshDir('o'), '--ffmpeg', '/opt/nowhere/ffmpeg']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ffmpeg not found at \/opt\/nowhere\/ffmpeg \(--ffmpeg\)/);
    const { tools } = await import('../helpers/fixtures.js');
    const ok = await runCli(['features', testPatternVideo(8, 25), '--out', freshDir('o'), '-x', 'landmarks', '--ffmpeg', tools.ffmpeg, '--ffprobe', tools.ffprobe]);
    expect(ok.code).toBe(0);
    const env = await runCli(['features', testPatternVideo(8, 25), '--out', freshDir('o')], { AFFECT_STUDIO_FFPROBE: '/opt/nowhere/ffprobe' });
    expect(env.stderr).toMatch(/ffprobe not found at \/opt\/nowhere\/ffprobe \(AFFECT_STUDIO_FFPROBE\)/);
  });

  it('missing face models say how to get them back; corrupt ones too', async () => {
    const empty = freshDir('models-empty');
    const r = await runCli(['features', testPatternVideo(8, 25), '--out', freshDir('o')], { AFFECT_STUDIO_FACE_MODELS: empty, AFFECT_STUDIO_CACHE: freshDir('c') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/face model "blazeface" is missing .*npm ci/);

    const broken = freshDir('models-broken');
    cpSync(humanModelsDir(), broken, { recursive: true });
    truncateSync(path.join(broken, 'blazeface.bin'), 1000);
    const r2 = await runCli(['features', testPatternVideo(8, 25), '--out', freshDir('o')], { AFFECT_STUDIO_FACE_MODELS: broken, AFFECT_STUDIO_CACHE: freshDir('c') });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/face model "blazeface" cannot be read: .*weight shards hold 1000 bytes.*npm ci/);
  });

  it('a damaged cached model conversion is rebuilt without the user noticing', async () => {
    const cache = freshDir('c');
    const first = await runCli(['features', testPatternVideo(8, 25), '--out', freshDir('o'), '-x', 'landmarks'], { AFFECT_STUDIO_CACHE: cache });
    expect(first.code).toBe(0);
    const modelDir = path.join(cache, 'models');
    // the conversions, and the optimised graphs ONNX Runtime saved beside them (models/optimized)
    const damage = (dir: string): void => {
      for (const f of readdirSync(dir, { withFileTypes: true })) {
        if (f.isDirectory()) damage(path.join(dir, f.name));
        else writeFileSync(path.join(dir, f.name), 'garbage');
      }
    };
    expect(readdirSync(path.join(modelDir, 'optimized')).length).toBeGreaterThan(0);
    damage(modelDir);
    const again = await runCli(['features', testPatternVideo(8, 25), '--out', freshDir('o'), '-x', 'landmarks'], { AFFECT_STUDIO_CACHE: cache });
    expect(again.code).toBe(0);
    expect(readFileSync(path.join(modelDir, readdirSync(modelDir).find((f) => f.startsWith('blazeface')) as string)).length).toBeGreaterThan(100_000);
  });

  it('plain progress lines and a JSON summary when output is not a terminal', async () => {
    const out = freshDir('o');
    const r = await runCli(['features', testPatternVideo(8, 25), '--out', out, '-x', 'landmarks', '--json'], { AFFECT_STUDIO_CACHE: freshDir('c') });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/starting \(8 frames expected\)/);
    const summary = JSON.parse(r.stdout);
    expect(summary.executionProvider).toBe('cpu');
    expect(summary.results[0]).toMatchObject({ frames: 8, rows: 8, faceRows: 0 });
    expect(summary.providerAttempts.some((a: { provider: string; ok: boolean }) => a.provider === 'cpu' && a.ok)).toBe(true);
  });

  it('paths with spaces and non-ASCII characters, real faces, folder input', async () => {
    const dir = path.join(freshDir('in'), 'Probanden – Sitzung 1');
    mkdirSync(dir);
    copyFileSync(sampleVideo('single_face.mp4'), path.join(dir, 'Teilnehmerin Nr. 3 (Zoë).mp4'));
    const out = path.join(freshDir('o'), 'Ergebnisse ü');
    const r = await runCli(['features', dir, '--out', out, '-x', 'expression']);
    expect(r.code).toBe(0);
    const csv = readFileSync(path.join(out, 'Teilnehmerin Nr. 3 (Zoë).faces.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(73);
    expect(csv.slice(1).every((l) => l.split(',')[2] === '0')).toBe(true);
    expect(existsSync(path.join(out, 'Teilnehmerin Nr. 3 (Zoë).features.npy'))).toBe(true);
  });
});

describe('the shared clips through the CLI', () => {
  it('face appears mid-way in an HEVC .mov: handled', async ({ skip }) => {
    skip(!haveSharedVideos, SKIP_SHARED);
    const out = freshDir('o');
    const r = await runCli(['features', sharedVideo('noface_face.mov'), '--out', out, '-x', 'landmarks']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/✓ .*noface_face\.mov: 169 frames, \d+ face rows, face ids \[0\]/);
  });
});

describe('a batch killed mid-way', () => {
  it('leaves only complete outputs, and the rerun resumes from the cache', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI } = await import('../helpers/cli.js');
    const { readNpyHeader } = await import('../../models/data/npy.js');
    const { ffmpegFixture: make } = await import('../helpers/fixtures.js');
    const first = testPatternVideo(20, 25);
    const long = make('long-pattern.mp4', ['-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30', '-frames:v', '1200', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast']);
    const out = freshDir('killed');
    const env = { ...process.env, AFFECT_STUDIO_CACHE: freshDir('cache') };
    const child = spawn(process.execPath, [CLI, 'features', first, long, '--out', out, '-x', 'expression'], { env });
    let err = '';
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        // killed while the second video is half done
        if (/long-pattern\.mp4: \d+\/\d+ frames/.test(err) || /\[2\/2\].*starting/.test(err)) {
          setTimeout(() => child.kill('SIGKILL'), 300);
        }
      });
      child.on('close', () => resolve());
    });
    expect(err).toMatch(/✓ \[1\/2\]/);
    expect(err).not.toMatch(/✓ \[2\/2\]/);
    const left = readdirSync(out).sort();
    expect(left).toEqual(['testsrc-20-25-160x120.faces.csv', 'testsrc-20-25-160x120.features.json', 'testsrc-20-25-160x120.features.npy']);
    expect(readNpyHeader(path.join(out, left[2])).rows).toBe(20);

    const rerun = await runCli(['features', first, long, '--out', out, '-x', 'expression'], { AFFECT_STUDIO_CACHE: env.AFFECT_STUDIO_CACHE as string });
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/✓ \[1\/2\].*\(from cache\)/);
    expect(rerun.stderr).toMatch(/✓ \[2\/2\] long-pattern\.mp4: 1200 frames/);
    expect(readdirSync(out).filter((n) => n.includes('tmp') || n.startsWith('.'))).toEqual([]);
  });
});
