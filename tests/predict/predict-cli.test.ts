import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { NATIVE_COLUMNS, NATIVE_GAZE_COLUMNS, NATIVE_POSE_COLUMNS, OPENFACE_COLUMNS, OPENFACE_GAZE_COLUMNS, OPENFACE_POSE_COLUMNS, PYFEAT_COLUMNS } from '../../electron/engine/export/columns.js';
import { AUS, EXPRESSIONS } from '../../common/labels.js';
import { CLI, runCli } from '../helpers/cli.js';
import { randomGruBundle } from '../helpers/bundles.js';
import { freshDir, haveSharedVideos, repoRoot, SKIP_SHARED, sampleVideo, sharedVideo, testPatternVideo } from '../helpers/fixtures.js';

type Row = Record<string, string>;
const csv = (file: string): Row[] => parse(readFileSync(file), { columns: true }) as Row[];
const mean = (rows: Row[], k: string) => rows.reduce((a, r) => a + Number(r[k]), 0) / rows.length;

describe('predict on the acted-expressions clip (starter bundle)', () => {
  const out = freshDir('pred');
  let rows: Row[];

  it('writes the native CSV: exact columns, every frame, valid ranges', async () => {
    const r = await runCli(['predict', sampleVideo('WolfgangLanger_Pexels.mp4'), '--out', out, '--ep', 'cpu']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/starter@1\.1\.0/);
    expect(r.stderr).toMatch(/not trained on Aff-Wild2/);
    const text = readFileSync(path.join(out, 'WolfgangLanger_Pexels.csv'), 'utf8');
    expect(text.split('\n')[0]).toBe(NATIVE_COLUMNS.join(','));
    rows = csv(path.join(out, 'WolfgangLanger_Pexels.csv'));
    expect(rows.map((x) => Number(x.frame))).toEqual(Array.from({ length: 472 }, (_, i) => i + 1));
    for (const x of rows) {
      expect(x.success).toBe('1');
      expect(Math.abs(Number(x.valence))).toBeLessThanOrEqual(1);
      expect(Math.abs(Number(x.arousal))).toBeLessThanOrEqual(1);
      const probs = EXPRESSIONS.map((e) => Number(x[e]));
      expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
      expect(x.expression).toBe(EXPRESSIONS[probs.indexOf(Math.max(...probs))]);
      for (const au of AUS) expect(Number(x[au])).toBeGreaterThanOrEqual(0), expect(Number(x[au])).toBeLessThanOrEqual(1);
      for (const c of [...NATIVE_POSE_COLUMNS, ...NATIVE_GAZE_COLUMNS]) expect(Math.abs(Number(x[c])), c).toBeLessThan(90);
    }
  });

  it('head pose follows her visible turns (signs as OpenFace: yaw > 0 turned to the image\'s left, roll > 0 tilted to the image\'s right)', () => {
    const at = (frame: number, k: string) => Number(rows[frame - 1][k]);
    // frame 1: face turned towards the image's left, looking down; frames 400–430: head tilted with its
    // top to the image's left; frames 455–472: turned left again and tilted the other way (seen in the clip)
    expect(at(1, 'pose_yaw')).toBeGreaterThan(12);
    for (const f of [405, 415, 425]) expect(at(f, 'pose_roll')).toBeLessThan(-15);
    for (const f of [460, 470]) expect(at(f, 'pose_roll')).toBeGreaterThan(15), expect(at(f, 'pose_yaw')).toBeGreaterThan(12);
    // frames 300–390 face the camera more squarely than frame 1
    expect(Math.abs(at(361, 'pose_yaw'))).toBeLessThan(at(1, 'pose_yaw') - 10);
  });

  it('follows the clip: sad at first, smiling at the end', () => {
    const first = rows.slice(0, 100);
    const last = rows.slice(-100);
    expect(mean(last, 'valence') - mean(first, 'valence')).toBeGreaterThan(0.5);
    expect(last.filter((x) => x.expression === 'Happiness').length).toBeGreaterThan(60);
    expect(first.filter((x) => x.expression === 'Sadness').length).toBeGreaterThan(60);
    expect(mean(last, 'AU12')).toBeGreaterThan(mean(first, 'AU12') + 0.2);
  });

  it('records the run in run.json', () => {
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'));
    expect(run.tool).toBe('affect-studio');
    expect(run.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(run.executionProvider).toBe('cpu');
    expect(run.bundles[0]).toMatchObject({ id: 'starter', kind: 'starter', smoothing: { valence: 5, arousal: 5 } });
    expect(run.bundles[0].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(run.videos.WolfgangLanger_Pexels).toMatchObject({ status: 'done', frames: 472, output: 'WolfgangLanger_Pexels.csv' });
    expect(run.videos.WolfgangLanger_Pexels.seconds).toBeGreaterThan(0);
  });

  it('smoothing: --smooth-v 0 turns it off; a wider window is smoother', async () => {
    const raw = freshDir('pred');
    const wide = freshDir('pred');
    await runCli(['predict', sampleVideo('WolfgangLanger_Pexels.mp4'), '--out', raw, '--smooth-v', '0', '--smooth-a', '0']);
    await runCli(['predict', sampleVideo('WolfgangLanger_Pexels.mp4'), '--out', wide, '--smooth-v', '25']);
    const roughness = (file: string) => {
      const v = csv(file).map((x) => Number(x.valence));
      return v.slice(1).reduce((a, x, i) => a + Math.abs(x - v[i]), 0);
    };
    const r0 = roughness(path.join(raw, 'WolfgangLanger_Pexels.csv'));
    const r5 = roughness(path.join(out, 'WolfgangLanger_Pexels.csv'));
    const r25 = roughness(path.join(wide, 'WolfgangLanger_Pexels.csv'));
    expect(r5).toBeLessThan(r0);
    expect(r25).toBeLessThan(r5);
    const run = JSON.parse(readFileSync(path.join(wide, 'run.json'), 'utf8'));
    expect(run.bundles[0].smoothing).toEqual({ valence: 25, arousal: 5 });
  });

  it('an ensemble of the starter and a GRU bundle, in the OpenFace and ABAW dialects', async () => {
    const gru = randomGruBundle(freshDir('bundle'));
    const o = freshDir('pred');
    const r = await runCli(['predict', sampleVideo('single_face.mp4'), '--out', o, '-b', 'starter', '-b', gru, '--weights', '3,1', '--format', 'openface']);
    expect(r.code).toBe(0);
    const of = readFileSync(path.join(o, 'single_face.openface.csv'), 'utf8');
    expect(of.split('\n')[0]).toBe(OPENFACE_COLUMNS.join(','));
    expect(of.split('\n')[0]).toMatch(/^frame,face_id,timestamp,confidence,success,gaze_0_x,gaze_0_y,gaze_0_z,gaze_1_x,gaze_1_y,gaze_1_z,gaze_angle_x,gaze_angle_y,pose_Tx,pose_Ty,pose_Tz,pose_Rx,pose_Ry,pose_Rz,AU01_r,AU02_r,AU04_r/);
    for (const x of csv(path.join(o, 'single_face.openface.csv'))) {
      expect(Number(x.pose_Tz)).toBeGreaterThan(300); // about 40 cm from the camera (OpenFace: 390–402 mm)
      expect(Math.hypot(Number(x.gaze_0_x), Number(x.gaze_0_y), Number(x.gaze_0_z))).toBeCloseTo(1, 4);
      expect(Number(x.gaze_0_z)).toBeLessThan(-0.7); // looking at the camera, within 45° (blinks are the worst frames)
    }
    const run = JSON.parse(readFileSync(path.join(o, 'run.json'), 'utf8'));
    expect(run.bundles.map((b: { id: string; weight: number }) => [b.id, b.weight])).toEqual([['starter', 3], ['test-gru', 1]]);

    const a = freshDir('pred');
    const r2 = await runCli(['predict', sampleVideo('single_face.mp4'), '--out', a, '--format', 'abaw']);
    expect(r2.code).toBe(0);
    const lines = readFileSync(path.join(a, 'predictions.abaw.txt'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('image,valence,arousal,expression,aus');
    expect(lines).toHaveLength(73);
    expect(lines[1]).toMatch(/^single_face\/00001\.jpg,-?\d\.\d{4},-?\d\.\d{4},[0-7](,[01]){12}$/);
  });

  it('the Py-Feat dialect: Fex column names in Py-Feat\'s order, frames from 0, box, pose in degrees', async () => {
    const o = freshDir('pred');
    const r = await runCli(['predict', sampleVideo('single_face.mp4'), '--out', o, '--format', 'pyfeat', '--no-gaze']);
    expect(r.code).toBe(0);
    const text = readFileSync(path.join(o, 'single_face.pyfeat.csv'), 'utf8');
    expect(text.split('\n')[0]).toBe(PYFEAT_COLUMNS.join(','));
    // every Py-Feat column we write is one Py-Feat itself writes, in the same relative order (a file Py-Feat wrote)
    const featFile = path.join(repoRoot, '../shared/data/peer-outputs/Feat_Test.csv');
    if (existsSync(featFile)) {
      const feat = readFileSync(featFile, 'utf8').split('\n')[0].split(',');
      const ours = PYFEAT_COLUMNS.filter((c) => feat.includes(c));
      expect(ours).toEqual([...ours].sort((a, b) => feat.indexOf(a) - feat.indexOf(b)));
      expect(PYFEAT_COLUMNS.filter((c) => !feat.includes(c))).toEqual(['timestamp', 'face_id']);
    }
    const rows = csv(path.join(o, 'single_face.pyfeat.csv'));
    expect(rows.map((x) => Number(x.frame))).toEqual(Array.from({ length: 72 }, (_, i) => i));
    for (const x of rows) {
      expect(Number(x.FaceRectWidth)).toBeGreaterThan(100);
      expect(x.input).toBe(sampleVideo('single_face.mp4'));
      expect(Math.abs(Number(x.Roll))).toBeLessThan(10);
      const emotions = ['anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise', 'neutral'].map((e) => Number(x[e]));
      expect(emotions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    }
    const run = JSON.parse(readFileSync(path.join(o, 'run.json'), 'utf8'));
    expect(run.settings.gaze).toBe(false);
  });

  it('a video without faces: every frame present with success 0 and empty predictions, pose and gaze', async ({ skip }) => {
    skip(!haveSharedVideos, SKIP_SHARED);
    const o = freshDir('pred');
    const r = await runCli(['predict', sharedVideo('no_face.mp4'), '--out', o]);
    expect(r.code).toBe(0);
    // done, but with a warning: in the run record, under the video's line and in the summary
    expect(`${r.stdout}${r.stderr}`).toMatch(/! no face found in any of the 9\d frames/);
    expect(`${r.stdout}${r.stderr}`).toMatch(/done: 1 succeeded \(1 with warnings: no_face\.mp4\), 0 failed/);
    expect(JSON.parse(readFileSync(path.join(o, 'run.json'), 'utf8')).videos.no_face.warnings).toContainEqual(expect.stringMatching(/^no face found/));
    const rows = csv(path.join(o, 'no_face.csv'));
    expect(rows).toHaveLength(95);
    expect(rows.every((x) => x.success === '0' && x.face_id === '' && x.valence === '' && x.AU12 === '')).toBe(true);
    expect(rows.every((x) => [...NATIVE_POSE_COLUMNS, ...NATIVE_GAZE_COLUMNS].every((c) => x[c] === ''))).toBe(true);
    const f = freshDir('pred');
    expect((await runCli(['predict', sharedVideo('no_face.mp4'), '--out', f, '--format', 'openface'])).code).toBe(0);
    const of = csv(path.join(f, 'no_face.openface.csv'));
    // OpenFace writes zeros there; a zero angle is a real pose, so ours are empty (docs/predict.md)
    expect(of.every((x) => x.success === '0' && x.AU12_r === '0.00' && [...OPENFACE_POSE_COLUMNS, ...OPENFACE_GAZE_COLUMNS].every((c) => x[c] === ''))).toBe(true);
  });
});

describe('predict on bad inputs', () => {
  it('bad inputs are reported and skipped; the exit code says so', async () => {
    const dir = freshDir('in');
    copyFileSync(testPatternVideo(10, 25), path.join(dir, 'pattern.mp4'));
    writeFileSync(path.join(dir, 'broken.mp4'), 'not a video');
    const o = freshDir('pred');
    const r = await runCli(['predict', dir, '--out', o]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/✗ .*broken\.mp4: is not a video ffmpeg can read/);
    const run = JSON.parse(readFileSync(path.join(o, 'run.json'), 'utf8'));
    expect(run.videos.broken.status).toBe('failed');
    expect(run.videos.broken.error).toMatch(/not a video/);
    expect(run.videos.pattern.status).toBe('done');
    expect(csv(path.join(o, 'pattern.csv')).every((x) => x.success === '0')).toBe(true);
  });

  it('killed mid-batch, then --resume: finished videos are skipped, the rest redone, no half-written CSV', async () => {
    const { ffmpegFixture } = await import('../helpers/fixtures.js');
    const first = testPatternVideo(20, 25);
    const long = ffmpegFixture('long-pattern-2.mp4', ['-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30', '-frames:v', '900', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast']);
    const o = freshDir('pred');
    const env = { ...process.env, AFFECT_STUDIO_CACHE: freshDir('cache') };
    const child = spawn(process.execPath, [CLI, 'predict', first, long, '--out', o], { env });
    let err = '';
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/\[2\/2\].*starting/.test(err)) setTimeout(() => child.kill('SIGKILL'), 300);
      });
      child.on('close', () => resolve());
    });
    expect(err).toMatch(/✓ \[1\/2\]/);
    expect(existsSync(path.join(o, 'long-pattern-2.csv'))).toBe(false);
    expect(readdirSync(o).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const run = JSON.parse(readFileSync(path.join(o, 'run.json'), 'utf8'));
    expect(Object.keys(run.videos)).toEqual(['testsrc-20-25-160x120']);

    const again = await runCli(['predict', first, long, '--out', o, '--resume'], { AFFECT_STUDIO_CACHE: env.AFFECT_STUDIO_CACHE as string });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/= testsrc-20-25-160x120\.mp4: done in an earlier run \(--resume\), skipped/);
    expect(again.stderr).toMatch(/✓ \[2\/2\] long-pattern-2\.mp4: 900 frames/);
    expect(csv(path.join(o, 'long-pattern-2.csv'))).toHaveLength(900);
    expect(existsSync(path.join(o, '.work'))).toBe(false);

    const changed = await runCli(['predict', first, '--out', o, '--resume', '--smooth-v', '9']);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/run\.json there was made with other settings/);
  });

  it('an unknown bundle is a clear error', async () => {
    const r = await runCli(['predict', testPatternVideo(10, 25), '--out', freshDir('pred'), '-b', 'no-such-bundle']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no bundle "no-such-bundle".*affect-studio bundles list/);
  });
});
