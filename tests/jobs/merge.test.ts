/**
 * Merging shard records (no video work: records written by hand, shaped as the shards write them).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mergeShards } from '../../electron/engine/jobs/merge-shards.js';
import type { ShardRecord } from '../../electron/engine/jobs/shard-records.js';
import { shardRecordFile } from '../../electron/engine/jobs/shards.js';
import { freshDir } from '../helpers/fixtures.js';

interface Video { stem: string; position: number; status?: 'done' | 'failed' }

function record(index: number, count: number, videos: Video[], o: { finished?: boolean; settingsKey?: string; host?: string; ep?: string; fingerprint?: string } = {}): ShardRecord {
  return {
    tool: 'affect-studio', version: '0.1.0', started: `2026-01-01T00:00:0${index}.000Z`, updated: `2026-01-01T00:01:0${index}.000Z`,
    settingsKey: o.settingsKey ?? 'abc', settings: { format: 'native' }, executionProvider: o.ep ?? 'cpu',
    videos: Object.fromEntries(videos.filter((v) => v.status).map((v) => [v.stem, { file: `/data/${v.stem}.mp4`, status: v.status as 'done', seconds: 1, ...(v.status === 'failed' ? { error: 'broken' } : {}) }])),
    shard: {
      index, count, command: 'predict', argv: ['predict', '/data', '--out', '/out', '--shard', `${index}/${count}`], cwd: '/home/me', inputs: ['/data'],
      total: 4, fingerprint: o.fingerprint ?? 'fp', videos: videos.map((v) => ({ stem: v.stem, file: `/data/${v.stem}.mp4`, key: `${v.stem}.mp4`, position: v.position })),
      host: o.host ?? 'node1', pid: 1, ...(o.finished === false ? {} : { finished: '2026-01-01T00:02:00.000Z' }),
    },
  };
}

function write(dir: string, r: ShardRecord): void {
  writeFileSync(path.join(dir, shardRecordFile(r.shard)), JSON.stringify(r));
}

describe('merge', () => {
  it('every shard finished: run.json lists videos in input order, per shard and per node where they ran', () => {
    const dir = freshDir('merge');
    write(dir, record(1, 2, [{ stem: 'b', position: 1, status: 'done' }, { stem: 'd', position: 3, status: 'failed' }], { host: 'gpu1', ep: 'cuda' }));
    write(dir, record(2, 2, [{ stem: 'a', position: 0, status: 'done' }, { stem: 'c', position: 2, status: 'done' }]));
    const r = mergeShards(dir);
    expect(r.runFile).toBe(path.join(dir, 'run.json'));
    expect(r.done).toBe(3);
    expect(r.failed).toEqual([{ stem: 'd', file: '/data/d.mp4', shard: 1, error: 'broken' }]);
    expect(r.redoShards).toEqual([1]);
    expect(r.redo[0]).toBe('(cd /home/me && affect-studio predict /data --out /out --shard 1/2)');
    const run = JSON.parse(readFileSync(r.runFile as string, 'utf8'));
    expect(Object.keys(run)).toEqual(['tool', 'version', 'started', 'updated', 'settingsKey', 'settings', 'executionProvider', 'videos', 'merged', 'shards', 'nodes']);
    expect(Object.keys(run.videos)).toEqual(['a', 'b', 'c', 'd']);
    expect(run.started).toBe('2026-01-01T00:00:01.000Z');
    expect(run.updated).toBe('2026-01-01T00:01:02.000Z');
    expect(run.executionProvider).toBe('cuda, cpu');
    expect(run.nodes).toEqual({ gpu1: { executionProviders: ['cuda'], shards: [1] }, node1: { executionProviders: ['cpu'], shards: [2] } });
    expect(run.shards.map((s: { index: number; done: number; failed: number }) => [s.index, s.done, s.failed])).toEqual([[1, 1, 1], [2, 2, 0]]);
  });

  it('an unfinished shard: nothing written, its missing videos and the command that redoes it', () => {
    const dir = freshDir('merge');
    write(dir, record(1, 2, [{ stem: 'a', position: 0, status: 'done' }]));
    write(dir, record(2, 2, [{ stem: 'b', position: 1, status: 'done' }, { stem: 'c', position: 2 }], { finished: false }));
    const r = mergeShards(dir);
    expect(r.runFile).toBeUndefined();
    expect(existsSync(path.join(dir, 'run.json'))).toBe(false);
    expect(r.shards.map((s) => s.state)).toEqual(['finished', 'unfinished']);
    expect(r.missing).toEqual([{ stem: 'c', file: '/data/c.mp4', shard: 2 }]);
    expect(r.redo).toEqual(['(cd /home/me && affect-studio predict /data --out /out --shard 2/2)']);
  });

  it('refuses shards of different runs, and asks which split when there are two', () => {
    const dir = freshDir('merge');
    write(dir, record(1, 2, [{ stem: 'a', position: 0, status: 'done' }]));
    write(dir, record(2, 2, [{ stem: 'b', position: 1, status: 'done' }], { settingsKey: 'other' }));
    expect(() => mergeShards(dir)).toThrow(/shard 2 and shard 1 of 2 differ in their settings/);
    write(dir, record(2, 2, [{ stem: 'b', position: 1, status: 'done' }], { fingerprint: 'changed' }));
    expect(() => mergeShards(dir)).toThrow(/differ in their batch of videos/);
    write(dir, record(2, 2, [{ stem: 'b', position: 1, status: 'done' }]));
    write(dir, record(1, 3, [{ stem: 'a', position: 0, status: 'done' }]));
    expect(() => mergeShards(dir)).toThrow(/holds records of splits into 2 and 3 shards/);
    expect(mergeShards(dir, { count: 2 }).runFile).toBeDefined();
    expect(() => mergeShards(freshDir('empty'))).toThrow(/holds no shard records/);
  });
});
