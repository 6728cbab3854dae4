/**
 * `--shard K/N` and `merge` as a user runs them by hand (no SLURM): shards into one folder give the
 * same bytes as one run, reruns skip finished videos, missing and failed videos are reported with
 * the command that redoes them.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { collectVideos } from '../../electron/engine/jobs/inputs.js';
import { runCli, CLI } from '../helpers/cli.js';
import { freshDir, sampleVideo, testPatternVideo } from '../helpers/fixtures.js';
import { batchOfClips } from '../helpers/batch-fixture.js';

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
/** The CLI with room for a loaded machine. */
const cli = (args: string[]) => runCli(args, {}, 600_000);

/** Every per-video output (not the run records) of `a` is byte-identical in `b`. */
function expectSameOutputs(a: string, b: string, pattern: RegExp): string[] {
  const files = readdirSync(a).filter((f) => pattern.test(f)).sort();
  expect(readdirSync(b).filter((f) => pattern.test(f)).sort()).toEqual(files);
  for (const f of files) expect(readFileSync(path.join(b, f)).equals(readFileSync(path.join(a, f))), `${f} is byte-identical`).toBe(true);
  return files;
}

describe('features --shard over five clips', () => {
  const clips = batchOfClips();
  const single = freshDir('feat-single');
  const sharded = freshDir('feat-shards');
  const opts = ['-x', 'expression,landmarks', '--stride', '2', '--no-cache', '--ep', 'cpu'];

  it('three shards into one folder = one run, byte for byte; the last shard merges run.json', async () => {
    const one = await cli(['features', clips, '--out', single, ...opts]);
    expect(one.code, one.stderr).toBe(0);
    const logs: string[] = [];
    for (const k of [1, 2, 3]) {
      const r = await cli(['features', clips, '--out', sharded, ...opts, '--shard', `${k}/3`]);
      expect(r.code, r.stderr).toBe(0);
      logs.push(r.stderr);
    }
    expect(logs[0]).toMatch(/the last shard to finish merges/);
    expect(logs[2]).toMatch(/all 3 shards finished: merging/);
    const files = expectSameOutputs(single, sharded, /\.(faces\.csv|features\.npy|features\.json)$/);
    expect(files).toHaveLength(15);
    const run = json(path.join(sharded, 'run.json'));
    // listed in input order, as one run lists them
    expect(Object.keys(run.videos)).toEqual(collectVideos([clips]).videos.map((v) => v.stem));
    expect(Object.values(run.videos).every((v) => (v as { status: string }).status === 'done')).toBe(true);
    expect(run.shards.map((s: { index: number; state: string }) => `${s.index}:${s.state}`)).toEqual(['1:finished', '2:finished', '3:finished']);
    expect(run.shards.reduce((a: number, s: { videos: number }) => a + s.videos, 0)).toBe(5);
    expect(run.settings.extractors.map((e: string) => e.split('@')[0])).toEqual(['expression', 'landmarks']);
    expect(Object.keys(run.nodes)).toHaveLength(1);
  }, 900_000);

  it('a rerun of a finished shard skips its videos and keeps their records', async () => {
    const before = json(path.join(sharded, 'run.shard-2-of-3.json'));
    const r = await cli(['features', clips, '--out', sharded, ...opts, '--shard', '2/3']);
    expect(r.code, r.stderr).toBe(0);
    const skipped = r.stderr.match(/done in an earlier run of this shard, skipped/g) ?? [];
    expect(skipped).toHaveLength(before.shard.videos.length);
    const after = json(path.join(sharded, 'run.shard-2-of-3.json'));
    expect(after.videos).toEqual(before.videos);
    expect(r.stderr).toMatch(/merged 3 shard\(s\): 5 of 5 video\(s\) done/);
  }, 300_000);
});

describe('predict --shard: a missing shard, a bad file, other settings', () => {
  it('merge reports the missing shard with the command that redoes it; the redo completes the merge; the bad file is reported', async () => {
    const inputs = freshDir('inputs');
    copyFileSync(sampleVideo('single_face.mp4'), path.join(inputs, 'single_face.mp4'));
    copyFileSync(testPatternVideo(40), path.join(inputs, 'pattern.mp4'));
    mkdirSync(path.join(inputs, 'sub'));
    copyFileSync(testPatternVideo(20, 25, '96x64'), path.join(inputs, 'sub', 'small.mp4'));
    writeFileSync(path.join(inputs, 'broken.mp4'), 'not a video');
    const single = freshDir('pred-single');
    const out = freshDir('pred-shards');
    const opts = ['--format', 'abaw', '--ep', 'cpu', '--no-cache'];
    expect((await cli(['predict', inputs, '--out', single, ...opts])).code).toBe(1); // broken.mp4

    const first = await cli(['predict', inputs, '--out', out, ...opts, '--shard', '1/2']);
    const s1 = json(path.join(out, 'run.shard-1-of-2.json'));
    expect(s1.shard.videos).toHaveLength(2);
    expect(first.code).toBe(s1.shard.videos.some((v: { key: string }) => v.key === 'broken.mp4') ? 1 : 0);

    const merge = await cli(['merge', out]);
    expect(merge.code).toBe(1);
    expect(merge.stderr).toMatch(/shard 2\/2: MISSING/);
    expect(merge.stderr).toMatch(/not merged: 1 of 2 shard\(s\) did not finish/);
    const all = ['single_face.mp4', 'pattern.mp4', 'sub/small.mp4', 'broken.mp4'].map((f) => path.join(inputs, f));
    const missing = all.filter((f) => !s1.shard.videos.some((v: { file: string }) => v.file === f));
    for (const f of missing) expect(merge.stderr).toContain(`? ${f} (shard 2/2): not processed`);
    const redo = merge.stderr.split('\n').find((l) => l.includes('--shard 2/2'));
    expect(redo, merge.stderr).toMatch(/^\s+\(cd .* && affect-studio predict .* --shard 2\/2\)$/);

    // run the printed command as a user would (affect-studio on PATH)
    const bin = freshDir('bin');
    writeFileSync(path.join(bin, 'affect-studio'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
    let redoOut = '';
    try {
      redoOut = execFileSync('bash', ['-c', `${(redo as string).trim()} 2>&1`], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
    } catch (e) {
      redoOut = (e as { stdout: string }).stdout; // exit 1 when broken.mp4 is in this shard
    }
    expect(redoOut).toMatch(/all 2 shards finished: merging/);
    expect(redoOut).toMatch(/✗ .*broken\.mp4 \(shard \d\/2\)/);

    const final = await cli(['merge', out, '--json']);
    expect(final.code).toBe(1); // merged, with one failed video
    const report = JSON.parse(final.stdout);
    expect(report.failed.map((f: { file: string }) => path.basename(f.file))).toEqual(['broken.mp4']);
    expect(report.missing).toEqual([]);
    expect(report.runFile).toBe(path.join(out, 'run.json'));
    expectSameOutputs(single, out, /\.(csv|abaw\.txt)$/);
    expect(readFileSync(path.join(out, 'predictions.abaw.txt')).equals(readFileSync(path.join(single, 'predictions.abaw.txt')))).toBe(true);
    const run = json(path.join(out, 'run.json'));
    const one = json(path.join(single, 'run.json'));
    expect(Object.keys(run.videos)).toEqual(Object.keys(one.videos));
    expect(run.settingsKey).toBe(one.settingsKey);
    expect(run.bundles).toEqual(one.bundles);
    expect(run.videos.broken.status).toBe('failed');

    // a shard started with other settings into the same folder is refused before it writes anything
    const other = await cli(['predict', inputs, '--out', out, ...opts, '--smooth-v', '0', '--shard', '2/2']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/run\.shard-2-of-2\.json there was made with other settings/);
  }, 900_000);

  it('refuses a malformed --shard, and --shard with --features', async () => {
    const r = await cli(['predict', sampleVideo('single_face.mp4'), '--out', freshDir('x'), '--shard', '3/2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--shard.*expected K\/N with 1 ≤ K ≤ N/);
    const f = await cli(['predict', '--features', freshDir('feat'), '--out', freshDir('x'), '--shard', '1/2']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/does not apply to --features/);
  });
});
