/**
 * Shard run records: `run.shard-K-of-N.json`, written by each shard into the shared output folder
 * (atomically, after every video) and merged into `run.json` when all have finished.
 *
 * A shard record is the command's own run record (predict's RunRecord, or the features record)
 * plus a `shard` section saying which part of which batch it is, where it ran, and whether it got
 * through all its videos. That section carries the command line, so a missing or failed shard can
 * be redone with exactly the command that was meant to run it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../../common/node/storage.js';
import { UserError } from '../../../common/errors.js';
import { SHARD_RECORD_PATTERN, shardRecordFile, type ShardedVideo, type ShardSpec } from './shards.js';
import type { RunHeader } from '../predict/predict-job.js';

export type ShardedCommand = 'predict' | 'features';

export interface ShardMeta extends ShardSpec {
  command: ShardedCommand;
  /** Arguments after `affect-studio`, as given (redo commands are built from them). */
  argv: string[];
  /** Working directory of the command: relative inputs are relative to it. */
  cwd: string;
  /** The input arguments (files and folders), as given. */
  inputs: string[];
  /** Videos in the whole batch, and its fingerprint (jobs/shards.ts batchFingerprint). */
  total: number;
  fingerprint: string;
  /** This shard's videos. */
  videos: { stem: string; file: string; key: string; position: number }[];
  host: string;
  pid: number;
  /** The SLURM job that ran the shard, when it ran in one. */
  slurm?: { jobId?: string; arrayJobId?: string; arrayTaskId?: string };
  /** When the shard had processed every one of its videos (done or failed); absent until then. */
  finished?: string;
}

/** What every shard record has, whichever command wrote it. */
export interface VideoOutcome {
  file: string;
  status: 'done' | 'failed';
  seconds: number;
  error?: string;
}

export interface ShardRecord extends RunHeader {
  videos: Record<string, VideoOutcome>;
  shard: ShardMeta;
  [field: string]: unknown;
}

export function shardMeta(
  spec: ShardSpec,
  command: ShardedCommand,
  argv: string[],
  inputs: string[],
  all: ShardedVideo[],
  fingerprint: string,
): ShardMeta {
  const env = process.env;
  const slurm = env.SLURM_JOB_ID ? { jobId: env.SLURM_JOB_ID, arrayJobId: env.SLURM_ARRAY_JOB_ID, arrayTaskId: env.SLURM_ARRAY_TASK_ID } : undefined;
  return {
    index: spec.index,
    count: spec.count,
    command,
    argv,
    cwd: process.cwd(),
    inputs,
    total: all.length,
    fingerprint,
    videos: all.filter((v) => v.shard === spec.index).map((v) => ({ stem: v.stem, file: v.file, key: v.key, position: v.position })),
    host: os.hostname(),
    pid: process.pid,
    ...(slurm ? { slurm } : {}),
  };
}

export function readShardRecord(file: string): ShardRecord {
  let record: ShardRecord;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as ShardRecord;
  } catch (err) {
    throw new UserError(`cannot read this shard record (${(err as Error).message})`, 'rerun its shard (the command is in the other shards\' records), or delete the file', file);
  }
  if (!record.shard || !record.videos || typeof record.settingsKey !== 'string') {
    throw new UserError('is not a shard record (no shard, videos or settingsKey field)', 'delete it, or rerun its shard', file);
  }
  return record;
}

/** The shard records in a folder, by shard count: `found.get(N)` maps index → record. */
export function findShardRecords(dir: string): Map<number, Map<number, { file: string; record: ShardRecord }>> {
  const found = new Map<number, Map<number, { file: string; record: ShardRecord }>>();
  if (!existsSync(dir)) return found;
  for (const name of readdirSync(dir).sort()) {
    const m = SHARD_RECORD_PATTERN.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    const count = Number(m[2]);
    if (!found.has(count)) found.set(count, new Map());
    (found.get(count) as Map<number, { file: string; record: ShardRecord }>).set(Number(m[1]), { file, record: readShardRecord(file) });
  }
  return found;
}

/** Marks a shard's record finished (every video processed, done or failed). */
export function markShardFinished(dir: string, record: ShardRecord): ShardRecord {
  const now = new Date().toISOString();
  const finished: ShardRecord = { ...record, updated: now, shard: { ...record.shard, finished: now } };
  writeFileAtomic(path.join(dir, shardRecordFile(record.shard)), `${JSON.stringify(finished, null, 2)}\n`);
  return finished;
}

/** True when every shard of `spec.count` has a finished record in `dir`: time to merge. */
export function allShardsFinished(dir: string, count: number): boolean {
  for (let index = 1; index <= count; index++) {
    const file = path.join(dir, shardRecordFile({ index, count }));
    if (!existsSync(file)) return false;
    try {
      if (!readShardRecord(file).shard.finished) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** `argv` with its `--shard` value replaced by `spec` (the command that runs another shard). */
export function argvForShard(argv: string[], spec: ShardSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--shard') {
      i++;
      continue;
    }
    if (argv[i].startsWith('--shard=')) continue;
    out.push(argv[i]);
  }
  return [...out, '--shard', `${spec.index}/${spec.count}`];
}

/** Quotes an argument for a POSIX shell (printed commands, generated job scripts). */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
