/**
 * Splitting a batch into N disjoint shards that separate machines (SLURM array tasks, or any job
 * system) process independently into one shared output folder.
 *
 * Every machine must compute the same split without talking to the others, from the same command
 * line. So a video's shard depends only on the set of videos, never on the order the file system
 * lists them in or on where the data is mounted: each video gets a key, its path relative to the
 * input folder it was found in (its file name when given directly); videos are ordered by a hash
 * of that key and dealt round-robin. The hash spreads long and short recordings (which often sit
 * together in a folder) over the shards; dealing keeps shard sizes within one video of each other.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../common/errors.js';
import type { VideoInput } from './inputs.js';

/** Shard `index` (1-based) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** A video with its machine-independent key, its place in the whole batch and its shard. */
export interface ShardedVideo extends VideoInput {
  key: string;
  /** Position in the whole batch (input order), so merged records list videos as one run would. */
  position: number;
  shard: number;
}

/** Name of a shard's run record in the output folder (the merged one is run.json). */
export const shardRecordFile = (s: ShardSpec): string => `run.shard-${s.index}-of-${s.count}.json`;

/** Matches shard record file names; groups: index, count. */
export const SHARD_RECORD_PATTERN = /^run\.shard-(\d+)-of-(\d+)\.json$/;

export const formatShard = (s: ShardSpec): string => `${s.index}/${s.count}`;

/** Parses `K/N` (1 ≤ K ≤ N). Throws a UserError that says what was expected. */
export function parseShard(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index >= 1) || index > count) {
    throw new UserError(`--shard ${text}: expected K/N with 1 ≤ K ≤ N (e.g. --shard 2/8 for the second of eight parts)`);
  }
  return { index, count };
}

const toPosix = (p: string): string => p.split(path.sep).join('/');

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The key of a video: its path relative to the first input folder that holds it, else its file
 * name. `argIndex` is that input's position on the command line (same on every machine), used only
 * to order videos whose keys are equal (two folders both holding `clip.mp4`).
 */
export function videoKey(inputs: string[], file: string): { key: string; argIndex: number } {
  const abs = path.resolve(file);
  for (const [argIndex, input] of inputs.entries()) {
    const root = path.resolve(input);
    if (root === abs) return { key: path.basename(abs), argIndex };
    if (!isDirectory(root)) continue;
    const rel = path.relative(root, abs);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return { key: toPosix(rel), argIndex };
  }
  return { key: path.basename(abs), argIndex: inputs.length };
}

const keyHash = (key: string): string => createHash('sha256').update(key).digest('hex');

/** Assigns every video of the batch to exactly one of `count` shards (see the file comment). */
export function assignShards(inputs: string[], videos: VideoInput[], count: number): ShardedVideo[] {
  const keyed = videos.map((v, position) => {
    const { key, argIndex } = videoKey(inputs, v.file);
    return { ...v, key, position, argIndex, hash: keyHash(key) };
  });
  const dealt = [...keyed].sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : a.argIndex - b.argIndex));
  const shardOf = new Map(dealt.map((v, i) => [v, (i % count) + 1]));
  return keyed.map((v) => ({ file: v.file, stem: v.stem, key: v.key, position: v.position, shard: shardOf.get(v) as number }));
}

/** The videos of one shard, in input order. */
export function shardVideos(inputs: string[], videos: VideoInput[], spec: ShardSpec): ShardedVideo[] {
  return assignShards(inputs, videos, spec.count).filter((v) => v.shard === spec.index);
}

/**
 * A fingerprint of the whole batch (every key, whatever the shard): shards computed from different
 * input sets (a file added to a folder between two tasks) would overlap or leave gaps, and the
 * merge refuses them by this.
 */
export function batchFingerprint(videos: { key: string }[]): string {
  return createHash('sha256').update(JSON.stringify(videos.map((v) => v.key).sort())).digest('hex').slice(0, 16);
}
