/**
 * The record of one shard of a `features` batch (`run.shard-K-of-N.json`): per video its outcome,
 * outputs, timing and cache use, rewritten atomically after every video so that a rerun of the
 * shard (a requeued or resubmitted task) skips what is finished and redoes the rest.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../../common/node/storage.js';
import { toolVersion } from '../../../common/node/version.js';
import { UserError } from '../../../common/errors.js';
import { shortHash } from '../features/cache.js';
import type { FeaturePipeline, VideoFeaturesResult } from '../features/pipeline.js';
import type { VideoInput } from './inputs.js';
import { markShardFinished, readShardRecord, type ShardMeta, type ShardRecord, type VideoOutcome } from './shard-records.js';
import { shardRecordFile } from './shards.js';

export interface FeaturesVideoRecord extends VideoOutcome {
  /** Output file names in the output folder. */
  outputs?: { facesCsv: string; featuresNpy: string; meta: string };
  frames?: number;
  rows?: number;
  faceRows?: number;
  faceIds?: number[];
  cache?: VideoFeaturesResult['cache'];
  warnings?: string[];
}

export class FeaturesShardRun {
  private constructor(
    private readonly outDir: string,
    private record: ShardRecord,
  ) {}

  /** Starts (or resumes) the shard's record; refuses a record made with other settings. */
  static open(outDir: string, pipeline: FeaturePipeline, meta: ShardMeta): FeaturesShardRun {
    // What changes the outputs: not the cache folder, threads or execution provider.
    const settings = { extractors: pipeline.extractors.map((e) => `${e.id}@${e.version}`), face: pipeline.options.face };
    const settingsKey = shortHash(settings);
    const file = path.join(outDir, shardRecordFile(meta));
    const previous = existsSync(file) ? readShardRecord(file) : undefined;
    if (previous && previous.settingsKey !== settingsKey) {
      throw new UserError(`${path.basename(file)} there was made with other extractors or face settings`, 'rerun the shard with the same options, or use another --out folder', outDir);
    }
    const now = new Date().toISOString();
    const run = new FeaturesShardRun(outDir, {
      tool: 'affect-studio',
      version: toolVersion(),
      command: 'features',
      started: previous?.started ?? now,
      updated: now,
      settingsKey,
      settings,
      executionProvider: pipeline.provider,
      extractors: pipeline.extractors.map((e) => ({ id: e.id, version: e.version, dim: e.dim })),
      columns: pipeline.columns.length,
      videos: previous?.videos ?? {},
      shard: meta,
    });
    run.save();
    return run;
  }

  /** Finished in an earlier run of this shard, its outputs still there. */
  isDone(video: VideoInput): boolean {
    const prior = this.record.videos[video.stem] as FeaturesVideoRecord | undefined;
    return prior?.status === 'done' && prior.file === video.file && !!prior.outputs && Object.values(prior.outputs).every((f) => existsSync(path.join(this.outDir, f)));
  }

  done(video: VideoInput, r: VideoFeaturesResult, executionProvider: string): void {
    const entry: FeaturesVideoRecord = {
      file: video.file, status: 'done', seconds: r.seconds,
      outputs: { facesCsv: path.basename(r.outputs.facesCsv), featuresNpy: path.basename(r.outputs.featuresNpy), meta: path.basename(r.outputs.meta) },
      frames: r.frames, rows: r.rows, faceRows: r.faceRows, faceIds: r.faceIds, cache: r.cache, warnings: r.warnings,
    };
    this.record.videos[video.stem] = entry;
    this.record.executionProvider = executionProvider;
    this.save();
  }

  failed(video: VideoInput, error: string, seconds: number): void {
    this.record.videos[video.stem] = { file: video.file, status: 'failed', seconds, error } satisfies FeaturesVideoRecord;
    this.save();
  }

  /** Every video processed: marks the record finished and returns it. */
  finish(): ShardRecord {
    this.record = markShardFinished(this.outDir, this.record);
    return this.record;
  }

  private save(): void {
    this.record.updated = new Date().toISOString();
    writeFileAtomic(path.join(this.outDir, shardRecordFile(this.record.shard)), `${JSON.stringify(this.record, null, 2)}\n`);
  }
}
