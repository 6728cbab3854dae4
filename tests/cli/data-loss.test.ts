/**
 * No acknowledged work lost, through the real command line: inputs that share a name, symlinked
 * videos, bundle removal that stays in the store, a bundle reinstall that fails half-way, a
 * damaged run.json, a video whose content changed before --resume, damaged project files.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, CLI } from '../helpers/cli.js';
import { randomGruBundle } from '../helpers/bundles.js';
import { ffmpegFixture, freshDir, testPatternVideo, testRootArgs } from '../helpers/fixtures.js';

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('outputs never collide', () => {
  it('d/clip.mp4 and d/clip.mov in one batch: two CSVs, both in run.json, the rename stated', async () => {
    const dir = freshDir('same-stem');
    copyFileSync(testPatternVideo(10, 25), path.join(dir, 'clip.mp4'));
    copyFileSync(ffmpegFixture('pattern-12.mov', ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-frames:v', '12', '-pix_fmt', 'yuv420p', '-c:v', 'libx264']), path.join(dir, 'clip.mov'));
    const out = freshDir('pred');
    const r = await runCli(['predict', dir, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/done: 2 succeeded( \(2 with warnings: [^)]*\))?, 0 failed/);
    const run = json(path.join(out, 'run.json'));
    const records = Object.entries(run.videos) as [string, { file: string; output: string; frames: number; warnings: string[] }][];
    expect(records.map(([, v]) => path.basename(v.file)).sort()).toEqual(['clip.mov', 'clip.mp4']);
    expect(new Set(records.map(([, v]) => v.output)).size).toBe(2);
    for (const [stem, v] of records) {
      expect(stem).toMatch(/^clip-[0-9a-f]{6}$/);
      expect(v.output).toBe(`${stem}.csv`);
      expect(v.warnings[0]).toMatch(new RegExp(`written as ${stem}: another input is also named clip`));
      expect(readFileSync(path.join(out, v.output), 'utf8').trim().split('\n')).toHaveLength(v.frames + 1);
    }
    expect(records.find(([, v]) => v.file.endsWith('.mov'))?.[1].frames).toBe(12);

    const feats = freshDir('feat');
    const f = await runCli(['features', dir, '--out', feats, '-x', 'landmarks']);
    expect(f.code, f.stderr).toBe(0);
    expect(readdirSync(feats).filter((n) => n.endsWith('.faces.csv'))).toHaveLength(2);
    expect(f.stderr).toMatch(/! written as clip-[0-9a-f]{6}: another input is also named clip/);
  });

  it('a later run into the same folder does not overwrite an earlier run\'s output of another file', async () => {
    const a = freshDir('a');
    const b = freshDir('b');
    copyFileSync(testPatternVideo(10, 25), path.join(a, 'take.mp4'));
    copyFileSync(testPatternVideo(30, 25), path.join(b, 'take.mp4'));
    const out = freshDir('pred');
    expect((await runCli(['predict', path.join(a, 'take.mp4'), '--out', out, '--resume'])).code).toBe(0);
    const second = await runCli(['predict', path.join(b, 'take.mp4'), '--out', out, '--resume']);
    expect(second.code, second.stderr).toBe(0);
    const run = json(path.join(out, 'run.json'));
    expect(Object.keys(run.videos)).toHaveLength(2);
    expect(readFileSync(path.join(out, 'take.csv'), 'utf8').trim().split('\n')).toHaveLength(11); // the first file's 10 frames, untouched
    const renamed = Object.entries(run.videos).find(([stem]) => stem !== 'take') as [string, { output: string; warnings: string[] }];
    expect(readFileSync(path.join(out, renamed[1].output), 'utf8').trim().split('\n')).toHaveLength(31);
    expect(renamed[1].warnings[0]).toMatch(/earlier run in this folder/);
  });

  it('symlinked videos in a folder are processed; a broken link is reported', async () => {
    const dir = freshDir('links');
    symlinkSync(testPatternVideo(10, 25), path.join(dir, 'linked.mp4'));
    symlinkSync(path.join(dir, 'nowhere.mp4'), path.join(dir, 'dangling.mp4'));
    mkdirSync(path.join(dir, 'sub'));
    symlinkSync(dir, path.join(dir, 'sub', 'loop')); // a link loop ends
    const out = freshDir('feat');
    const r = await runCli(['features', dir, '--out', out, '-x', 'landmarks']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/✓ \[1\/1\] linked\.mp4/);
    expect(r.stderr).toMatch(/✗ .*dangling\.mp4: is a broken symbolic link/);
    expect(existsSync(path.join(out, 'linked.faces.csv'))).toBe(true);
  });
});

describe('the bundle store', () => {
  it('bundles remove takes an id: paths and ".." are refused and nothing outside the store is touched', async () => {
    const data = freshDir('data');
    const env = { AFFECT_STUDIO_DATA: data };
    mkdirSync(path.join(data, 'projects', 'default', 'annotations'), { recursive: true });
    writeFileSync(path.join(data, 'projects', 'default', 'annotations', 'keep.json'), '{}');
    const victim = path.join(path.dirname(data), 'victim');
    mkdirSync(victim, { recursive: true });
    for (const ref of ['../../victim', '..', '../', '.', '/etc', 'a/../..']) {
      const r = await runCli(['bundles', 'remove', ref], env);
      expect(r.code, ref).toBe(2);
      expect(r.stderr).toMatch(/is not a bundle id/);
      noStack(r.stderr);
    }
    expect(existsSync(victim)).toBe(true);
    expect(existsSync(path.join(data, 'projects', 'default', 'annotations', 'keep.json'))).toBe(true);
  });

  it('a reinstall that fails half-way leaves the installed copy and the default as they were', async () => {
    const env = { AFFECT_STUDIO_DATA: freshDir('data') };
    const good = randomGruBundle(freshDir('b'));
    expect((await runCli(['bundles', 'install', good], env)).code).toBe(0);
    // the same id and version, with something that cannot be copied (a named pipe)
    const bad = freshDir('b2');
    for (const f of readdirSync(good)) copyFileSync(path.join(good, f), path.join(bad, f));
    execFileSync('mkfifo', [path.join(bad, 'zz-pipe')]);
    const r = await runCli(['bundles', 'install', bad], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot copy the bundle into the store/);
    noStack(r.stderr);
    const list = await runCli(['bundles', 'list'], env);
    expect(list.stdout).toMatch(/^\* test-gru@0\.0\.1\s+temporal/m);
    const store = path.join(env.AFFECT_STUDIO_DATA, 'bundles');
    expect(readdirSync(store).sort()).toEqual(['default.json', 'test-gru@0.0.1']); // no staging left behind
    const show = await runCli(['bundles', 'show'], env);
    expect(show.code, show.stderr).toBe(0);
    // and a good reinstall replaces it
    expect((await runCli(['bundles', 'install', good], env)).code).toBe(0);
  });
});

describe('run records', () => {
  it('a damaged run.json: --resume says which file and what to do, no stack', async () => {
    const out = freshDir('pred');
    writeFileSync(path.join(out, 'run.json'), '{"tool":"affect-studio","videos":{');
    const r = await runCli(['predict', testPatternVideo(10, 25), '--out', out, '--resume']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${path.join(out, 'run.json').replace(/[.]/g, '\\.')}: is not valid JSON .* move it away \\(or delete it\\)`));
    noStack(r.stderr);
  });

  it('--resume redoes a video whose content changed since it was done', async () => {
    const dir = freshDir('changing');
    const video = path.join(dir, 'take.mp4');
    copyFileSync(testPatternVideo(10, 25), video);
    const out = freshDir('pred');
    expect((await runCli(['predict', video, '--out', out])).code).toBe(0);
    const before = json(path.join(out, 'run.json')).videos.take;
    expect(before.sha256).toMatch(/^[0-9a-f]{64}$/);
    const same = await runCli(['predict', video, '--out', out, '--resume']);
    expect(same.stderr).toMatch(/= take\.mp4: done in an earlier run \(--resume\), skipped/);
    copyFileSync(testPatternVideo(30, 25), video);
    const again = await runCli(['predict', video, '--out', out, '--resume']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/skipped/);
    expect(again.stderr).toMatch(/✓ \[1\/1\] take\.mp4: 30 frames/);
    const after = json(path.join(out, 'run.json')).videos.take;
    expect(after.sha256).not.toBe(before.sha256);
    expect(readFileSync(path.join(out, 'take.csv'), 'utf8').trim().split('\n')).toHaveLength(31);
  });
});

describe('damaged project files', () => {
  it('serve starts with a damaged project.json and batch.json, sets them aside and says so', async () => {
    const dir = freshDir('proj');
    writeFileSync(path.join(dir, 'project.json'), '{"format":"affect-studio-project/1","vid');
    writeFileSync(path.join(dir, 'batch.json'), '{"items": 7}');
    const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--project', dir, ...testRootArgs()], { env: { ...process.env, AFFECT_STUDIO_DATA: freshDir('data') } });
    let out = '';
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const url = await new Promise<URL>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/\S+\?token=\S+)/.exec(out);
        if (m) resolve(new URL(m[1]));
      });
      proc.on('exit', (code) => reject(new Error(`exited ${code}: ${out}${err}`)));
    });
    try {
      const r = await fetch(`${url.origin}/api/app.info`, { method: 'POST', body: '{}', headers: { Authorization: `Bearer ${url.searchParams.get('token')}`, 'Content-Type': 'application/json' } });
      const info = (await r.json()) as { problems: string[] };
      expect(info.problems).toHaveLength(2);
      expect(info.problems[0]).toMatch(new RegExp(`${path.join(dir, 'project.json')}: the project's list of videos could not be read .*moved to .*project\\.json\\.corrupt-`));
      expect(info.problems[1]).toMatch(/batch\.json: the saved state could not be read .*moved to .*batch\.json\.corrupt-/);
      expect(err).toMatch(/warning: .*project\.json/);
      const aside = readdirSync(dir).filter((n) => n.includes('.corrupt-')).sort();
      expect(aside).toHaveLength(2);
      expect(readFileSync(path.join(dir, aside.find((n) => n.startsWith('project')) as string), 'utf8')).toBe('{"format":"affect-studio-project/1","vid');
      const v = await fetch(`${url.origin}/api/videos.open`, { method: 'POST', body: JSON.stringify({ path: testPatternVideo(10, 25) }), headers: { Authorization: `Bearer ${url.searchParams.get('token')}`, 'Content-Type': 'application/json' } });
      expect(v.status).toBe(200);
      expect(json(path.join(dir, 'project.json')).videos).toHaveLength(1);
    } finally {
      proc.kill('SIGTERM');
    }
  });
});
