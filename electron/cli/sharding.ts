/**
 * `--shard K/N` for `predict` and `features`: the part of the batch this process runs, its run
 * record, and the merge the last finishing shard does. Reporting of merges lives here too, shared
 * by `merge`, the shards and `slurm --wait`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { describeError, type UserError } from '../../common/errors.js';
import type { VideoInput } from '../engine/jobs/inputs.js';
import { mergeShards, type MergeReport } from '../engine/jobs/merge-shards.js';
import { allShardsFinished, shardMeta, type ShardedCommand, type ShardMeta } from '../engine/jobs/shard-records.js';
import { assignShards, batchFingerprint, formatShard, parseShard, shardRecordFile, type ShardedVideo, type ShardSpec } from '../engine/jobs/shards.js';

export const SHARD_HELP = 'process only the K-th of N disjoint parts of the inputs (same split on every machine), into a shared --out; ' +
  'writes run.shard-K-of-N.json, skips finished videos when rerun, and the last shard to finish merges run.json (docs/cluster.md)';

/** commander parser for --shard. */
export function shardArg(value: string): ShardSpec {
  try {
    return parseShard(value);
  } catch (err) {
    throw new InvalidArgumentError((err as UserError).message.replace(/^--shard \S+: /, ''));
  }
}

export interface ShardPlan {
  spec: ShardSpec;
  videos: ShardedVideo[];
  meta: ShardMeta;
}

/**
 * This shard's videos, out of the batch's. Output names (stems) were given over the whole batch,
 * so they are the names a single run would use.
 */
export function planShard(spec: ShardSpec, command: ShardedCommand, inputs: string[], batch: VideoInput[]): ShardPlan {
  const all = assignShards(inputs, batch, spec.count);
  const meta = shardMeta(spec, command, process.argv.slice(2), inputs, all, batchFingerprint(all));
  return { spec, videos: all.filter((v) => v.shard === spec.index), meta };
}

/** The scratch folder of one shard inside the shared output folder. */
export const shardWorkFolder = (spec: ShardSpec): string => `.work-shard-${spec.index}-of-${spec.count}`;

export function describeShardStart(plan: ShardPlan, out: string): string {
  return `shard ${formatShard(plan.spec)}: ${plan.videos.length} of ${plan.meta.total} video(s); record ${path.join(out, shardRecordFile(plan.spec))}`;
}

/** Prints what a merge found: per shard, failed and missing videos, the commands that redo them. */
export function printMergeReport(r: MergeReport, log: (line: string) => void): void {
  for (const s of r.shards) {
    const where = s.host ? ` on ${s.host}${s.executionProvider ? ` (${s.executionProvider})` : ''}${s.slurm?.jobId ? `, SLURM job ${s.slurm.arrayJobId ? `${s.slurm.arrayJobId}_${s.slurm.arrayTaskId}` : s.slurm.jobId}` : ''}` : '';
    const state = s.state === 'finished' ? 'finished' : s.state === 'unfinished' ? 'NOT finished (stopped, or still running)' : 'MISSING (never ran, or its record was lost)';
    log(`  shard ${s.index}/${r.count}: ${state}${where} — ${s.done} done, ${s.failed} failed of ${s.videos} video(s)`);
  }
  for (const f of r.failed) log(`✗ ${f.file} (shard ${f.shard}/${r.count}): ${(f.error ?? 'failed').replace(`${f.file}: `, '')}`);
  for (const m of r.missing) log(`? ${m.file} (shard ${m.shard}/${r.count}): not processed`);
  for (const n of r.notes) log(`  note: ${n}`);
  if (r.runFile) log(`merged ${r.count} shard(s): ${r.done} of ${r.total} video(s) done, ${r.failed.length} failed → ${r.runFile}`);
  else log(`not merged: ${r.redoShards.filter((i) => r.shards[i - 1].state !== 'finished').length} of ${r.count} shard(s) did not finish; ${r.done} of ${r.total} video(s) done so far`);
  if (r.redo.length) {
    log(`redo ${r.redoShards.length === 1 ? 'shard' : 'shards'} ${r.redoShards.join(', ')} (a rerun skips finished videos):`);
    for (const c of r.redo) log(`  ${c}`);
    if (existsSync(path.join(r.dir, 'slurm', 'job.json'))) log(`  or on SLURM: affect-studio slurm resubmit ${r.dir}`);
  }
}

/** True when the merge is complete with every video done. */
export const mergeSucceeded = (r: MergeReport): boolean => !!r.runFile && r.failed.length === 0 && r.missing.length === 0;

/**
 * Called by a shard when it is through its videos: if every shard has finished, merge. Two shards
 * finishing together may both merge; the result is the same and run.json is written atomically.
 */
export function mergeIfLast(out: string, spec: ShardSpec, log: (line: string) => void): void {
  if (!allShardsFinished(out, spec.count)) {
    log(`shard ${formatShard(spec)} finished; the last shard to finish merges (or run: affect-studio merge ${out})`);
    return;
  }
  log(`all ${spec.count} shards finished: merging`);
  try {
    printMergeReport(mergeShards(out, { count: spec.count }), log);
  } catch (err) {
    // this shard's own work is done and recorded: a merge problem is reported, not made its failure
    log(`could not merge: ${describeError(err)}`);
  }
}
