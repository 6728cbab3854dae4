/**
 * `affect-studio slurm` on a real SLURM: Debian's slurmctld + slurmd + munge as a one-node cluster
 * on this machine (tests/cluster/slurm-cluster.sh). A 3-task array over the shared clips must give
 * the same bytes as one local run; cancelling one task must show in `slurm status`, and
 * resubmitting it must complete the merge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { collectVideos } from '../../electron/engine/jobs/inputs.js';
import { assignShards } from '../../electron/engine/jobs/shards.js';
import { CLI, runCli } from '../helpers/cli.js';
import { freshDir } from '../helpers/fixtures.js';
import { batchOfClips, LONGEST_CLIP } from '../helpers/batch-fixture.js';
import { startCluster, stopCluster, type Cluster } from '../helpers/slurm.js';

const cluster: Cluster = startCluster();
if (!cluster.ok) console.warn(`SLURM tests skipped: ${cluster.reason}`);

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const slurm = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });

/** Array tasks the scheduler still has queued or running: index → state. */
function liveTasks(jobId: string): Map<number, string> {
  const out = slurm('squeue', ['-j', jobId, '-r', '-h', '-o', '%K|%T']);
  return new Map(out.trim().split('\n').filter(Boolean).map((l) => {
    const [i, s] = l.split('|');
    return [Number(i), s] as const;
  }));
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

function expectSameCsvs(a: string, b: string): void {
  const files = readdirSync(a).filter((f) => f.endsWith('.csv')).sort();
  expect(files).toHaveLength(5);
  expect(readdirSync(b).filter((f) => f.endsWith('.csv')).sort()).toEqual(files);
  for (const f of files) expect(readFileSync(path.join(b, f)).equals(readFileSync(path.join(a, f))), `${f} is byte-identical to the local run`).toBe(true);
}

describe.skipIf(!cluster.ok)('SLURM job arrays on a one-node cluster', () => {
  const clips = batchOfClips();
  const local = freshDir('local');
  afterAll(() => stopCluster(cluster));
  beforeAll(async () => {
    const r = await runCli(['predict', clips, '--out', local, '--ep', 'cpu', '--no-cache'], {}, 900_000);
    expect(r.code, r.stderr).toBe(0);
  }, 900_000);

  it('a 3-task array with --wait: merged outputs byte-identical to a local run', async () => {
    const out = freshDir('array');
    // tasks share one feature cache, as they would on shared storage
    const r = await runCli(['slurm', 'predict', clips, '--out', out, '--tasks', '3', '--ep', 'cpu', '--cache', freshDir('shared-cache'), '--wait'], {}, 600_000);
    expect(r.code, r.stderr).toBe(0);
    const jobId = /submitted SLURM job array (\d+)/.exec(r.stderr)?.[1] as string;
    expect(jobId).toBeDefined();
    expect(r.stderr).toContain(`squeue -j ${jobId} -r`);
    expect(r.stderr).toContain(`sacct -j ${jobId}`);
    expect(r.stderr).toMatch(/merged 3 shard\(s\): 5 of 5 video\(s\) done, 0 failed/);
    expectSameCsvs(local, out);

    const script = readFileSync(path.join(out, 'slurm', 'predict.sbatch'), 'utf8');
    expect(script).toContain(`NODE=${process.execPath}`);
    expect(script).toContain(`CLI=${CLI}`);
    expect(script).toContain('#SBATCH --array=0-2');
    const logs = readdirSync(path.join(out, 'slurm', 'logs')).sort();
    expect(logs).toEqual([0, 1, 2].map((i) => `affect-predict-${jobId}_${i}.out`));
    for (const [i, l] of logs.entries()) expect(readFileSync(path.join(out, 'slurm', 'logs', l), 'utf8')).toContain(`affect-studio: shard ${i + 1}/3 on`);

    const run = json(path.join(out, 'run.json'));
    expect(Object.keys(run.videos)).toEqual(Object.keys(json(path.join(local, 'run.json')).videos));
    expect(run.shards.map((s: { slurm: { arrayJobId: string; arrayTaskId: string } }) => `${s.slurm.arrayJobId}_${s.slurm.arrayTaskId}`)).toEqual([0, 1, 2].map((i) => `${jobId}_${i}`));
    expect(run.executionProvider).toBe('cpu');

    const status = await runCli(['slurm', 'status', out]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toMatch(/3 task\(s\): 0 pending, 0 running, 3 done, 0 failed/);
  }, 900_000);

  it('scancel of one task: status reports it, merge names the missing shard, resubmitting it completes the merge', async () => {
    const out = freshDir('cancel');
    const sub = await runCli(['slurm', 'predict', clips, '--out', out, '--tasks', '3', '--ep', 'cpu', '--no-cache']);
    expect(sub.code, sub.stderr).toBe(0);
    const jobId = /submitted SLURM job array (\d+)/.exec(sub.stderr)?.[1] as string;
    expect(jobId).toBeDefined();
    // The task holding the longest clip, cancelled while on it; if a shorter clip comes before it
    // in that shard, only once that one is done: the resubmitted task must then skip it.
    const { videos } = collectVideos([clips]);
    const assigned = assignShards([clips], videos, 3);
    const shard = assigned.find((v) => v.stem === LONGEST_CLIP)?.shard as number;
    const victim = shard - 1;
    const mine = assigned.filter((v) => v.shard === shard).map((v) => v.stem);
    const before = mine.slice(0, mine.indexOf(LONGEST_CLIP));
    const record = path.join(out, `run.shard-${shard}-of-3.json`);
    await until(`shard ${shard} to work on ${LONGEST_CLIP}`, () => {
      if (liveTasks(jobId).get(victim) !== 'RUNNING') return undefined;
      if (!before.length) return true;
      return existsSync(record) && before.every((stem) => json(record).videos[stem]?.status === 'done') ? true : undefined;
    }, 240_000);
    slurm('scancel', [`${jobId}_${victim}`]);
    await until('the array to end', () => (liveTasks(jobId).size === 0 ? true : undefined), 300_000);

    const status = await runCli(['slurm', 'status', out]);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(new RegExp(`task ${victim} \\(shard ${victim + 1}/3\\): failed.*CANCELLED`));
    expect(status.stderr).toMatch(/3 task\(s\): 0 pending, 0 running, 2 done, 1 failed/);
    expect(status.stderr).toContain(`affect-studio slurm resubmit ${out}`);
    expect(existsSync(path.join(out, 'run.json'))).toBe(false);

    const merge = await runCli(['merge', out]);
    expect(merge.code).toBe(1);
    expect(merge.stderr).toMatch(new RegExp(`shard ${shard}/3: (NOT finished|MISSING) .*— ${before.length} done, 0 failed of ${mine.length} video`));
    expect(merge.stderr).toMatch(new RegExp(`\\? .*${LONGEST_CLIP}\\.mp4 \\(shard ${shard}/3\\): not processed`));
    expect(merge.stderr).toContain(`--shard ${victim + 1}/3`);
    expect(merge.stderr).toContain(`or on SLURM: affect-studio slurm resubmit ${out}`);

    const again = await runCli(['slurm', 'resubmit', out, '--wait'], {}, 600_000);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`submitted SLURM job array \\d+ \\(tasks ${victim}\\): shard\\(s\\) ${victim + 1} of 3 again`));
    expect(again.stderr).toMatch(/merged 3 shard\(s\): 5 of 5 video\(s\) done, 0 failed/);
    expectSameCsvs(local, out);
    const job = json(path.join(out, 'slurm', 'job.json'));
    expect(job.submissions.map((s: { array: string }) => s.array)).toEqual(['0-2', String(victim)]);
    const rerunLog = readFileSync(path.join(out, 'slurm', 'logs', `affect-predict-${job.submissions[1].jobId}_${victim}.out`), 'utf8');
    for (const stem of before) expect(rerunLog).toMatch(new RegExp(`= ${stem}\\.\\w+: done in an earlier run \\(--resume\\), skipped`));
    expect(rerunLog).toMatch(new RegExp(`✓ .*${LONGEST_CLIP}\\.mp4: 472 frames`));
    const after = await runCli(['slurm', 'status', out]);
    expect(after.stderr).toMatch(/3 task\(s\): 0 pending, 0 running, 3 done, 0 failed/);
    // nothing left to resubmit
    const none = await runCli(['slurm', 'resubmit', out]);
    expect(none.stderr).toMatch(/nothing to resubmit: 3 done/);
  }, 1_200_000);

  it('--dry-run prints the script for GPU nodes and submits nothing', async () => {
    const out = freshDir('dry');
    const r = await runCli(['slurm', 'features', clips, '--out', out, '--tasks', '2', '--gpus-per-task', '1', '--ep', 'cuda', '--partition', 'debug', '--time', '00:30:00', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('#SBATCH --gpus-per-task=1');
    // one CPU per task: the extractors in the tracking thread, one ONNX Runtime thread
    expect(r.stdout).toMatch(/exec "\$NODE" "\$CLI" features .* --ep cuda --workers 0 --threads 1 --out .* --shard "\$SHARD\/2"/);
    expect(existsSync(path.join(out, 'slurm'))).toBe(false);
  });
});
