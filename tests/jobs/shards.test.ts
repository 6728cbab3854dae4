import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { assignShards, batchFingerprint, parseShard, shardVideos, videoKey } from '../../electron/engine/jobs/shards.js';
import { collectVideos } from '../../electron/engine/jobs/inputs.js';
import { argvForShard, shellQuote } from '../../electron/engine/jobs/shard-records.js';
import { arrayList, buildJobScript, checkResources, parseArrayList, type JobScriptInput } from '../../electron/engine/slurm/job-script.js';
import { parseSacct, parseScontrolJobs } from '../../electron/engine/slurm/scheduler.js';
import { freshDir } from '../helpers/fixtures.js';

/** A folder tree of empty "videos" (sharding looks at paths only). */
function tree(root: string, files: string[]): string {
  for (const f of files) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), '');
  }
  return root;
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `s${i % 7}/clip-${String(i).padStart(3, '0')}.mp4`);

describe('deterministic sharding', () => {
  it('puts every video in exactly one shard, for any N, with shard sizes within one of each other', () => {
    const root = tree(freshDir('shards'), names(53));
    const { videos } = collectVideos([root]);
    expect(videos).toHaveLength(53);
    for (let n = 1; n <= 60; n++) {
      const assigned = assignShards([root], videos, n);
      expect(assigned.map((v) => v.file)).toEqual(videos.map((v) => v.file));
      for (const v of assigned) expect(v.shard).toBeGreaterThanOrEqual(1), expect(v.shard).toBeLessThanOrEqual(n);
      const union = Array.from({ length: n }, (_, k) => shardVideos([root], videos, { index: k + 1, count: n })).flat();
      expect(union.map((v) => v.file).sort()).toEqual(videos.map((v) => v.file).sort());
      const sizes = Array.from({ length: n }, (_, k) => assigned.filter((v) => v.shard === k + 1).length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('does not depend on list order or on where the data is mounted', () => {
    const files = names(40);
    const a = tree(freshDir('mount-a'), files);
    const b = tree(path.join(freshDir('mount-b'), 'deeper', 'elsewhere'), files);
    const va = collectVideos([a]).videos;
    const vb = collectVideos([b]).videos;
    const byKey = (vs: ReturnType<typeof assignShards>) => Object.fromEntries(vs.map((v) => [v.key, v.shard]));
    const sa = byKey(assignShards([a], va, 6));
    expect(byKey(assignShards([b], vb, 6))).toEqual(sa);
    expect(byKey(assignShards([a], [...va].reverse(), 6))).toEqual(sa);
    // the same videos named one by one instead of by their folder: keys are then file names
    expect(Object.keys(sa)).toContain('s3/clip-003.mp4');
    expect(batchFingerprint(assignShards([a], va, 6))).toBe(batchFingerprint(assignShards([b], vb, 3)));
  });

  it('keys: path relative to the input folder, file name for files given directly; equal keys in two folders still split cleanly', () => {
    const root = freshDir('keys');
    const x = tree(path.join(root, 'x'), ['clip.mp4', 'sub/a.mov']);
    const y = tree(path.join(root, 'y'), ['clip.mp4']);
    expect(videoKey([x], path.join(x, 'sub/a.mov')).key).toBe('sub/a.mov');
    expect(videoKey([path.join(x, 'sub/a.mov')], path.join(x, 'sub/a.mov')).key).toBe('a.mov');
    const { videos } = collectVideos([x, y]);
    const two = assignShards([x, y], videos, 2);
    expect(two.map((v) => v.key).sort()).toEqual(['clip.mp4', 'clip.mp4', 'sub/a.mov']);
    const firstOfTwo = two.filter((v) => v.key === 'clip.mp4');
    // identical keys sit next to each other in hash order and are dealt to different shards
    expect(new Set(firstOfTwo.map((v) => v.shard)).size).toBe(2);
    // stems come from the whole batch: the two clip.mp4 get distinct output names in every shard
    expect(new Set(two.map((v) => v.stem)).size).toBe(3);
  });

  it('parses K/N and refuses what is not a shard', () => {
    expect(parseShard('2/8')).toEqual({ index: 2, count: 8 });
    expect(parseShard(' 1 / 1 ')).toEqual({ index: 1, count: 1 });
    for (const bad of ['0/3', '4/3', '3', 'a/b', '1/0', '-1/2', '1.5/3']) expect(() => parseShard(bad)).toThrow(/expected K\/N/);
  });

  it('rewrites the command line for another shard', () => {
    expect(argvForShard(['predict', 'in', '--shard', '1/3', '--out', 'o'], { index: 3, count: 3 })).toEqual(['predict', 'in', '--out', 'o', '--shard', '3/3']);
    expect(argvForShard(['features', '--shard=2/3', 'in'], { index: 1, count: 3 })).toEqual(['features', 'in', '--shard', '1/3']);
    expect(shellQuote("it's here")).toBe(`'it'\\''s here'`);
    expect(shellQuote('/plain/path-1.mp4')).toBe('/plain/path-1.mp4');
  });
});

describe('SLURM job script and scheduler output', () => {
  const input: JobScriptInput = {
    command: 'predict', args: ['data/my videos', '-b', 'starter', '--threads', '2'], out: '/shared/out', cwd: '/home/me/project',
    node: '/opt/node/bin/node', cli: '/opt/affect/dist/electron/cli/main.js', env: { AFFECT_STUDIO_CACHE: '/shared/cache' }, toolVersion: '0.1.0',
    resources: { tasks: 4, cpusPerTask: 2, partition: 'gpu', time: '02:00:00', mem: '8G', gpusPerTask: '1', sbatchArgs: ['--account=lab'] },
  };

  it('one array task per shard, absolute node and CLI, the same options with --shard index+1', () => {
    const s = buildJobScript(input);
    const lines = s.split('\n');
    expect(lines[0]).toBe('#!/bin/bash');
    for (const d of ['--job-name=affect-predict', '--array=0-3', '--output=/shared/out/slurm/logs/%x-%A_%a.out', '--cpus-per-task=2', '--partition=gpu', '--time=02:00:00', '--mem=8G', '--gpus-per-task=1', '--account=lab']) {
      expect(lines).toContain(`#SBATCH ${d}`);
    }
    // #SBATCH lines must come before the first command, or sbatch ignores them
    const firstCommand = lines.findIndex((l) => l && !l.startsWith('#'));
    expect(lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('#SBATCH')).every(([, i]) => i < firstCommand)).toBe(true);
    expect(s).toContain("NODE=/opt/node/bin/node\nCLI=/opt/affect/dist/electron/cli/main.js");
    expect(s).toContain("export AFFECT_STUDIO_CACHE=/shared/cache");
    expect(s).toContain('cd /home/me/project');
    expect(s).toContain(`exec "$NODE" "$CLI" predict 'data/my videos' -b starter --threads 2 --out /shared/out --shard "$SHARD/4"`);
    expect(s).toContain('SHARD=$((SLURM_ARRAY_TASK_ID + 1))');
  });

  it('refuses SLURM values sbatch would reject', () => {
    const ok = input.resources;
    expect(() => checkResources(ok)).not.toThrow();
    for (const time of ['90', '30:00', '1-12', '2-00:00:00', 'UNLIMITED']) expect(() => checkResources({ ...ok, time })).not.toThrow();
    expect(() => checkResources({ ...ok, time: '2h' })).toThrow(/time limit/);
    expect(() => checkResources({ ...ok, mem: '8 GB' })).toThrow(/memory size/);
    expect(() => checkResources({ ...ok, gpusPerTask: 'one' })).toThrow(/type:count/);
    expect(() => checkResources({ ...ok, sbatchArgs: ['account=lab'] })).toThrow(/one sbatch option/);
  });

  it('array lists both ways', () => {
    expect(arrayList([5, 0, 1, 2, 7, 8])).toBe('0-2,5,7-8');
    expect(parseArrayList('0-2,5,7-8')).toEqual([0, 1, 2, 5, 7, 8]);
    expect(parseArrayList('1-7:2')).toEqual([1, 3, 5, 7]);
    expect(parseArrayList('[3-5%2]')).toEqual([3, 4, 5]);
  });

  it('reads scontrol (pending tasks grouped in ranges) and sacct lines', () => {
    const scontrol = [
      'JobId=4 ArrayJobId=4 ArrayTaskId=2-3 JobName=affect-predict JobState=PENDING Reason=Resources ExitCode=0:0 NodeList=(null)',
      'JobId=6 ArrayJobId=4 ArrayTaskId=1 JobName=affect-predict JobState=CANCELLED Reason=None ExitCode=0:15 NodeList=vm',
      'JobId=5 ArrayJobId=4 ArrayTaskId=0 JobName=affect-predict JobState=RUNNING Reason=None ExitCode=0:0 NodeList=vm',
      'JobId=9 ArrayJobId=8 ArrayTaskId=0 JobName=other JobState=RUNNING Reason=None ExitCode=0:0 NodeList=vm',
    ].join('\n');
    const t = parseScontrolJobs(scontrol, '4');
    expect([...t.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(t.get(3)).toMatchObject({ state: 'PENDING', reason: 'Resources', node: undefined });
    expect(t.get(1)).toMatchObject({ state: 'CANCELLED', exitCode: '0:15', node: 'vm' });
    const sacct = '12_0|COMPLETED|0:0|n1\n12_1|CANCELLED by 0|0:15|n2\n12_[2-3]|PENDING|0:0|None assigned\n';
    const a = parseSacct(sacct, '12');
    expect(a.get(1)).toMatchObject({ state: 'CANCELLED', node: 'n2' });
    expect(a.get(3)).toMatchObject({ state: 'PENDING', node: undefined });
  });
});
