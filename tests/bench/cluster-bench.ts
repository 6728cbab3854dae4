/**
 * Cluster benchmark (`npm run bench -- --only=cluster`): the same `predict` batch as a SLURM job
 * array of 1 task with 2 threads and of 2 tasks with 1 thread each, on the one-node test cluster
 * (tests/cluster/slurm-cluster.sh, 2 CPUs), and the ratio of their throughputs. Then what that
 * means for Aff-Wild2 on N such nodes.
 *
 * Inputs: four copies of the acted clip under different names (equal lengths, so two shards get
 * equal work; no feature cache, so every copy is computed). Time: from submission to the last
 * shard's `finished` stamp in its record (ms precision; sbatch --wait polls too coarsely), so
 * queueing and model loading count, as they do on a real cluster.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const AFF_WILD2_FRAMES = 2_800_000;

interface ArrayRun {
  tasks: number;
  seconds: number;
  fps: number;
  outputs: Map<string, Buffer>;
}

function clusterUp(script: string): { ok: true; conf: string; started: boolean } | { ok: false; reason: string } {
  const r = spawnSync('bash', [script, 'up'], { encoding: 'utf8', timeout: 120_000 });
  const conf = r.stdout?.split('\n').find((l) => l.startsWith('SLURM_CONF='))?.slice(11);
  if (r.status === 0 && conf) return { ok: true, conf, started: r.stdout.includes('started') };
  return { ok: false, reason: (r.stderr || r.error?.message || `exit ${r.status}`).trim() };
}

function runArray(cli: string, inputs: string, out: string, tasks: number, cpus: number, frames: number): ArrayRun {
  rmSync(out, { recursive: true, force: true });
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [cli, 'slurm', 'predict', inputs, '--out', out, '--tasks', String(tasks), '--cpus-per-task', String(cpus),
    '--ep', 'cpu', '--no-cache', '--wait'], { encoding: 'utf8', timeout: 1_800_000 });
  if (r.status !== 0) throw new Error(`slurm predict --tasks ${tasks} failed (exit ${r.status}):\n${r.stderr}`);
  const finished = readdirSync(out).filter((f) => /^run\.shard-\d+-of-\d+\.json$/.test(f))
    .map((f) => Date.parse(JSON.parse(readFileSync(path.join(out, f), 'utf8')).shard.finished));
  const seconds = (Math.max(...finished) - t0) / 1000;
  const outputs = new Map(readdirSync(out).filter((f) => f.endsWith('.csv')).map((f) => [f, readFileSync(path.join(out, f))]));
  return { tasks, seconds, fps: frames / seconds, outputs };
}

export async function clusterBench(say: (s: string) => void, clip: string, repo: string, rounds = 2): Promise<void> {
  say(`\n# Cluster — ${new Date().toISOString()}`);
  const cluster = clusterUp(path.join(repo, 'tests/cluster/slurm-cluster.sh'));
  if (!cluster.ok) {
    say(`skipped: no SLURM test cluster here (${cluster.reason})`);
    return;
  }
  process.env.SLURM_CONF = cluster.conf;
  const cli = path.join(repo, 'dist/electron/cli/main.js');
  const work = path.join(os.tmpdir(), 'affect-studio-bench', 'cluster');
  const inputs = path.join(work, 'inputs');
  mkdirSync(inputs, { recursive: true });
  const copies = 4;
  for (let i = 1; i <= copies; i++) {
    const f = path.join(inputs, `clip-${i}.mp4`);
    if (!existsSync(f)) copyFileSync(clip, f);
  }
  const frames = copies * 472;
  say(`one-node cluster (slurmctld + slurmd, ${os.cpus().length} CPUs on this machine, 2 in slurm.conf); \`slurm predict\` (starter bundle, no cache) over ${copies} copies of ${path.basename(clip)} = ${frames} frames\n`);
  try {
    const runs: ArrayRun[][] = [];
    for (let round = 0; round < rounds; round++) {
      const one = runArray(cli, inputs, path.join(work, 'one'), 1, 2, frames);
      const two = runArray(cli, inputs, path.join(work, 'two'), 2, 1, frames);
      for (const [name, bytes] of one.outputs) if (!two.outputs.get(name)?.equals(bytes)) throw new Error(`${name} differs between the 1-task and the 2-task run`);
      runs.push([one, two]);
    }
    say('| round | 1 task × 2 threads: s | fps | 2 tasks × 1 thread: s | fps | ratio (2 tasks ÷ 1 task) |');
    say('|---|---:|---:|---:|---:|---:|');
    runs.forEach(([one, two], i) => say(`| ${i + 1} | ${one.seconds.toFixed(1)} | ${one.fps.toFixed(1)} | ${two.seconds.toFixed(1)} | ${two.fps.toFixed(1)} | ${(two.fps / one.fps).toFixed(2)} |`));
    const sum = (k: 0 | 1) => runs.reduce((a, r) => a + r[k].seconds, 0);
    const ratio = sum(0) / sum(1);
    const nodeFps = (frames * runs.length) / Math.min(sum(0), sum(1));
    say(`\nThroughput ratio, 2 tasks ÷ 1 task, over all rounds: **${ratio.toFixed(2)}** (outputs byte-identical between the two). ` +
      `On one 2-core node the best layout ran at ${nodeFps.toFixed(0)} fps, queueing and model loading included.`);
    say(`Aff-Wild2 (${(AFF_WILD2_FRAMES / 1e6).toFixed(1)} M frames) at that speed per node, shards spread over N such nodes (independent tasks, shared storage):`);
    say('\n| nodes | hours |');
    say('|---:|---:|');
    for (const n of [1, 4, 16, 64]) say(`| ${n} | ${(AFF_WILD2_FRAMES / (nodeFps * n) / 3600).toFixed(2)} |`);
  } finally {
    if (cluster.started) spawnSync('bash', [path.join(repo, 'tests/cluster/slurm-cluster.sh'), 'down'], { encoding: 'utf8' });
  }
}
