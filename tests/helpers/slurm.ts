/**
 * The one-node SLURM cluster of tests/cluster/slurm-cluster.sh, for tests and the benchmark.
 * Tests that cannot get one (not root, slurm-wlm/munge not installed) skip and say why; with
 * AFFECT_STUDIO_REQUIRE_SLURM=1 (set by .ci/run) they fail instead, so CI cannot skip them silently.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './fixtures.js';

export const CLUSTER_SCRIPT = path.join(repoRoot, 'tests/cluster/slurm-cluster.sh');

export type Cluster = { ok: true; slurmConf: string; startedHere: boolean } | { ok: false; reason: string };

/** Starts the cluster (or finds it running) and points this process's slurm commands at it. */
export function startCluster(): Cluster {
  const r = spawnSync('bash', [CLUSTER_SCRIPT, 'up'], { encoding: 'utf8', timeout: 120_000 });
  const lines = (r.stdout ?? '').trim().split('\n');
  const conf = lines.find((l) => l.startsWith('SLURM_CONF='))?.slice('SLURM_CONF='.length);
  let cluster: Cluster;
  if (r.status === 0 && conf) {
    process.env.SLURM_CONF = conf;
    cluster = { ok: true, slurmConf: conf, startedHere: lines.includes('started') };
  } else {
    const why = (r.stderr ?? '').trim().split('\n').pop() || r.error?.message || `exit ${r.status}`;
    cluster = { ok: false, reason: r.status === 3 ? why : `the test cluster did not start: ${why}` };
  }
  if (!cluster.ok && process.env.AFFECT_STUDIO_REQUIRE_SLURM) throw new Error(`SLURM tests must run here (AFFECT_STUDIO_REQUIRE_SLURM is set): ${cluster.reason}`);
  return cluster;
}

/** Stops the cluster if this process started it (a cluster CI started is left to CI). */
export function stopCluster(c: Cluster): void {
  if (c.ok && c.startedHere) spawnSync('bash', [CLUSTER_SCRIPT, 'down'], { encoding: 'utf8', timeout: 60_000 });
}
