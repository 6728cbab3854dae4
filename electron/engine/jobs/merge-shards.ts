/**
 * Merging the shard records of one output folder into `run.json`.
 *
 * The per-video outputs need no merging: each shard wrote its videos' files into the shared folder
 * under the same names a single run would use. What is merged is the record: per-video outcomes
 * (in the batch's input order, as one run lists them), and per shard where it ran and on what
 * (host, execution provider, SLURM job, timings). The merge checks that the shards belong together
 * (same command, settings and batch) and that each finished; videos without an outcome and failed
 * videos are reported with the command that redoes their shard (a rerun skips finished videos).
 * Predictions in the ABAW format get their combined file here, from all shards.
 */
import path from 'node:path';
import { writeFileAtomic } from '../../../common/node/storage.js';
import { describeError, UserError } from '../../../common/errors.js';
import { RUN_FILE, writeCombinedAbaw } from '../predict/predict-job.js';
import { collectVideos } from './inputs.js';
import { argvForShard, findShardRecords, shellQuote, type ShardedCommand, type ShardMeta, type ShardRecord, type VideoOutcome } from './shard-records.js';
import { assignShards, batchFingerprint, shardRecordFile } from './shards.js';

export interface ShardSummary {
  index: number;
  /** finished: processed all its videos; unfinished: a record, but stopped or still running; missing: no record. */
  state: 'finished' | 'unfinished' | 'missing';
  host?: string;
  executionProvider?: string;
  slurm?: ShardMeta['slurm'];
  videos: number;
  done: number;
  failed: number;
  /** Seconds spent on its videos (sum over videos). */
  seconds: number;
  started?: string;
  finished?: string;
}

export interface VideoProblem {
  stem?: string;
  file: string;
  shard: number;
  error?: string;
}

export interface MergeReport {
  dir: string;
  command?: ShardedCommand;
  count: number;
  shards: ShardSummary[];
  /** Videos in the whole batch, and those done. */
  total: number;
  done: number;
  failed: VideoProblem[];
  /** Videos without an outcome (their shard is unfinished or missing). */
  missing: VideoProblem[];
  /** Shards to run again: unfinished, missing, or with failed videos. */
  redoShards: number[];
  /** Shell commands that redo those shards, one per shard. */
  redo: string[];
  /** Remarks (shards run by different tool versions, inputs that changed). */
  notes: string[];
  /** run.json, written when every shard finished. */
  runFile?: string;
}

type Found = Map<number, { file: string; record: ShardRecord }>;

function chooseCount(dir: string, all: Map<number, Found>, wanted?: number): number {
  if (wanted !== undefined) {
    if (!all.has(wanted)) throw new UserError(`holds no records of a split into ${wanted} shards (run.shard-K-of-${wanted}.json)`, `the folder holds splits into ${[...all.keys()].join(', ') || 'none'}`, dir);
    return wanted;
  }
  if (all.size === 0) throw new UserError('holds no shard records (run.shard-K-of-N.json)', 'run `affect-studio predict|features … --out DIR --shard K/N` for each K first', dir);
  if (all.size > 1) {
    const counts = [...all.keys()].sort((a, b) => a - b);
    throw new UserError(`holds records of splits into ${counts.join(' and ')} shards`, `say which with --of N (e.g. --of ${counts[counts.length - 1]}), or delete the records of the split you abandoned`, dir);
  }
  return [...all.keys()][0];
}

/** Where the shard's record comes from, for messages. */
const where = (dir: string, index: number, count: number): string => path.join(dir, shardRecordFile({ index, count }));

function checkSameRun(dir: string, found: Found, count: number): ShardRecord {
  const [first, ...others] = [...found.entries()].sort((a, b) => a[0] - b[0]);
  const base = first[1].record;
  for (const [index, { record }] of others) {
    const differs = record.shard.command !== base.shard.command ? 'command'
      : record.settingsKey !== base.settingsKey ? 'settings (bundles, format, extractors or face options)'
      : record.shard.fingerprint !== base.shard.fingerprint || record.shard.total !== base.shard.total ? 'batch of videos (the inputs changed between shards)'
      : undefined;
    if (differs) {
      throw new UserError(`shard ${index} and shard ${first[0]} of ${count} differ in their ${differs}: they are not parts of one run`,
        `rerun shard ${index} with the same command as the others (see ${path.basename(where(dir, first[0], count))}), or use a separate --out folder per run`, where(dir, index, count));
    }
  }
  return base;
}

/** The videos an absent shard should have processed, computed again from the inputs of the others. */
function videosOfAbsentShard(meta: ShardMeta, index: number, count: number): { videos: VideoProblem[]; note?: string } {
  const inputs = meta.inputs.map((i) => path.resolve(meta.cwd, i));
  const { videos } = collectVideos(inputs);
  const assigned = assignShards(inputs, videos, count);
  if (batchFingerprint(assigned) !== meta.fingerprint) {
    return { videos: [], note: `the inputs changed since the shards ran, so the videos of missing shard ${index} are not known exactly; rerunning it processes its share of the inputs as they are now` };
  }
  return { videos: assigned.filter((v) => v.shard === index).map((v) => ({ stem: v.stem, file: v.file, shard: index })) };
}

export function redoCommand(meta: ShardMeta, index: number): string {
  return `(cd ${shellQuote(meta.cwd)} && affect-studio ${argvForShard(meta.argv, { index, count: meta.count }).map(shellQuote).join(' ')})`;
}

/** Checks and merges the shard records in `dir`; writes run.json when every shard finished. */
export function mergeShards(dir: string, options: { count?: number } = {}): MergeReport {
  const all = findShardRecords(dir);
  const count = chooseCount(dir, all, options.count);
  const found = all.get(count) as Found;
  const base = checkSameRun(dir, found, count);
  const notes: string[] = [];
  const versions = new Set([...found.values()].map((f) => f.record.version));
  if (versions.size > 1) notes.push(`shards ran different tool versions (${[...versions].join(', ')}): outputs may not match a single run`);

  const shards: ShardSummary[] = [];
  const failed: VideoProblem[] = [];
  const missing: VideoProblem[] = [];
  const outcomes: { stem: string; position: number; outcome: VideoOutcome }[] = [];
  for (let index = 1; index <= count; index++) {
    const entry = found.get(index);
    if (!entry) {
      shards.push({ index, state: 'missing', videos: 0, done: 0, failed: 0, seconds: 0 });
      try {
        const absent = videosOfAbsentShard(base.shard, index, count);
        missing.push(...absent.videos);
        shards[shards.length - 1].videos = absent.videos.length;
        if (absent.note) notes.push(absent.note);
      } catch (err) {
        notes.push(`cannot list the videos of missing shard ${index}: ${describeError(err)}`);
      }
      continue;
    }
    const { record } = entry;
    const meta = record.shard;
    const summary: ShardSummary = {
      index, state: meta.finished ? 'finished' : 'unfinished', host: meta.host, executionProvider: record.executionProvider,
      ...(meta.slurm ? { slurm: meta.slurm } : {}),
      videos: meta.videos.length, done: 0, failed: 0, seconds: 0, started: record.started, ...(meta.finished ? { finished: meta.finished } : {}),
    };
    for (const v of meta.videos) {
      const outcome = record.videos[v.stem];
      if (!outcome || outcome.file !== v.file) {
        missing.push({ stem: v.stem, file: v.file, shard: index });
        continue;
      }
      outcomes.push({ stem: v.stem, position: v.position, outcome });
      summary.seconds += outcome.seconds;
      if (outcome.status === 'done') summary.done++;
      else {
        summary.failed++;
        failed.push({ stem: v.stem, file: v.file, shard: index, error: outcome.error });
      }
    }
    shards.push(summary);
  }

  const redoShards = shards.filter((s) => s.state !== 'finished' || s.failed > 0).map((s) => s.index);
  const report: MergeReport = {
    dir, command: base.shard.command, count, shards, total: base.shard.total, done: outcomes.filter((o) => o.outcome.status === 'done').length,
    failed, missing, redoShards, redo: redoShards.map((i) => redoCommand(found.get(i)?.record.shard ?? base.shard, i)), notes,
  };
  if (shards.every((s) => s.state === 'finished')) {
    report.runFile = writeMergedRecord(dir, base, found, shards, outcomes);
  }
  return report;
}

function writeMergedRecord(dir: string, base: ShardRecord, found: Found, shards: ShardSummary[], outcomes: { stem: string; position: number; outcome: VideoOutcome }[]): string {
  const records = [...found.values()].map((f) => f.record);
  const videos = Object.fromEntries([...outcomes].sort((a, b) => a.position - b.position).map((o) => [o.stem, o.outcome]));
  const nodes: Record<string, { executionProviders: string[]; shards: number[] }> = {};
  for (const s of shards) {
    const node = (nodes[s.host as string] ??= { executionProviders: [], shards: [] });
    if (s.executionProvider && !node.executionProviders.includes(s.executionProvider)) node.executionProviders.push(s.executionProvider);
    node.shards.push(s.index);
  }
  const providers = [...new Set(records.map((r) => r.executionProvider))];
  // Fields common to the run come from the first shard (the merge checked that they agree), in
  // the order a single run writes them; what differs per shard is summed up or listed.
  const perRun: Record<string, unknown> = {
    started: records.map((r) => r.started).sort()[0],
    updated: records.map((r) => r.updated).sort().reverse()[0],
    // one provider when all shards agree, otherwise all of them (per node under `nodes`)
    executionProvider: providers.join(', '),
    // the per-model providers when every shard ran its models alike (`nodes` says which node ran what)
    models: new Set(records.map((r) => JSON.stringify(r.models))).size === 1 ? records[0].models : undefined,
    videos,
  };
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base)) if (key !== 'shard') merged[key] = key in perRun ? perRun[key] : value;
  merged.merged = { at: new Date().toISOString(), shards: shards.length, command: base.shard.command, fingerprint: base.shard.fingerprint };
  merged.shards = shards;
  merged.nodes = nodes;
  const runFile = path.join(dir, RUN_FILE);
  writeFileAtomic(runFile, `${JSON.stringify(merged, null, 2)}\n`);
  if (base.shard.command === 'predict' && (base.settings as { format?: string }).format === 'abaw') {
    writeCombinedAbaw(dir, { videos: videos as Parameters<typeof writeCombinedAbaw>[1]['videos'] });
  }
  return runFile;
}
