/**
 * The feature cache shared by concurrent processes (array tasks on a cluster's shared storage):
 * entries appear whole, nobody's files are replaced under a reader, leftovers are cleaned up only
 * when their owner is gone.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CacheEntry } from '../../electron/engine/features/cache.js';
import { runCli } from '../helpers/cli.js';
import { freshDir, sampleVideo } from '../helpers/fixtures.js';

function staged(entry: CacheEntry, files: Record<string, string>): string {
  const s = entry.stage();
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(s, name), text);
  return s;
}

describe('cache entries under concurrent writers', () => {
  it('a new entry appears whole; when another process made it first, its files are kept', async () => {
    const entry = new CacheEntry(path.join(freshDir('cache'), 'abc', 'key'));
    const mine = staged(entry, { 'faces.csv': 'mine', 'geometry.npy': 'mine', 'x@1.npy': 'mine' });
    const theirs = staged(entry, { 'faces.csv': 'theirs', 'geometry.npy': 'theirs', 'x@1.npy': 'theirs', 'y@1.npy': 'theirs' });
    expect(entry.tracked).toBe(false);
    await entry.commit(theirs, true);
    expect(entry.tracked).toBe(true);
    await entry.commit(mine, true);
    expect(readFileSync(entry.path('faces.csv'), 'utf8')).toBe('theirs');
    expect(readFileSync(entry.path('x@1.npy'), 'utf8')).toBe('theirs');
    expect(readdirSync(path.dirname(entry.dir))).toEqual(['key']);
  });

  it('adding extractor files never replaces one that is there (a reader may have it open)', async () => {
    const entry = new CacheEntry(path.join(freshDir('cache'), 'abc', 'key'));
    await entry.commit(staged(entry, { 'faces.csv': 'f', 'geometry.npy': 'g', 'x@1.npy': 'first' }), true);
    const inode = statSync(entry.path('x@1.npy')).ino;
    await entry.commit(staged(entry, { 'x@1.npy': 'second', 'y@1.npy': 'added' }), false);
    expect(statSync(entry.path('x@1.npy')).ino).toBe(inode);
    expect(readFileSync(entry.path('x@1.npy'), 'utf8')).toBe('first');
    expect(readFileSync(entry.path('y@1.npy'), 'utf8')).toBe('added');
    expect(readdirSync(path.dirname(entry.dir))).toEqual(['key']);
  });

  it('an incomplete folder (left by an older version) is replaced by a complete entry', async () => {
    const entry = new CacheEntry(path.join(freshDir('cache'), 'abc', 'key'));
    mkdirSync(entry.dir, { recursive: true });
    writeFileSync(entry.path('x@1.npy'), 'orphan');
    await entry.commit(staged(entry, { 'faces.csv': 'f', 'geometry.npy': 'g', 'x@1.npy': 'new' }), true);
    expect(readFileSync(entry.path('x@1.npy'), 'utf8')).toBe('new');
    expect(readdirSync(path.dirname(entry.dir))).toEqual(['key']);
  });

  it('cleans up staging folders of dead processes on this machine, and of other machines only once old', () => {
    const parent = path.join(freshDir('cache'), 'abc');
    const entry = new CacheEntry(path.join(parent, 'key'));
    mkdirSync(parent, { recursive: true });
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max default: never a live process
    const names = {
      ownDead: `key.staging-${os.hostname()}~${deadPid}-1`,
      ownAlive: `key.staging-${os.hostname()}~${process.pid}-1`,
      legacyDead: `key.staging-${deadPid}-1`,
      foreignYoung: 'key.staging-node17~1-1',
      foreignOld: 'key.staging-node18~1-1',
      asideDead: `key.stale-${os.hostname()}~${deadPid}-1`,
    };
    for (const n of Object.values(names)) mkdirSync(path.join(parent, n));
    const old = new Date(Date.now() - 3 * 24 * 3600 * 1000);
    utimesSync(path.join(parent, names.foreignOld), old, old);
    const mine = entry.stage();
    const left = readdirSync(parent).sort();
    expect(left).toEqual([names.ownAlive, names.foreignYoung, path.basename(mine)].sort());
  });
});

describe('processes sharing one cache folder', () => {
  it('two processes making the same entry at once, then two adding extractors at once: identical outputs, a clean entry', async () => {
    const video = sampleVideo('single_face.mp4');
    const cache = freshDir('shared-cache');
    const ref = freshDir('ref');
    const outs = [freshDir('a'), freshDir('b'), freshDir('c'), freshDir('d')];
    // reference without any cache
    expect((await runCli(['features', video, '--out', ref, '--no-cache', '--ep', 'cpu'])).code).toBe(0);
    // 1) the same new entry, made by two processes at once, each with one extractor
    const [a, b] = await Promise.all([
      runCli(['features', video, '--out', outs[0], '--cache', cache, '--ep', 'cpu', '--threads', '1', '-x', 'landmarks']),
      runCli(['features', video, '--out', outs[1], '--cache', cache, '--ep', 'cpu', '--threads', '1', '-x', 'landmarks']),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(readFileSync(path.join(outs[0], 'single_face.features.npy'))).toEqual(readFileSync(path.join(outs[1], 'single_face.features.npy')));
    // 2) two processes adding the same missing extractors to that entry at once
    const [c, d] = await Promise.all(outs.slice(2).map((o) => runCli(['features', video, '--out', o, '--cache', cache, '--ep', 'cpu', '--threads', '1'])));
    expect(c.code, c.stderr).toBe(0);
    expect(d.code, d.stderr).toBe(0);
    for (const o of outs.slice(2)) {
      for (const f of ['single_face.faces.csv', 'single_face.features.npy']) {
        expect(readFileSync(path.join(o, f)).equals(readFileSync(path.join(ref, f))), `${o}/${f} equals the uncached run`).toBe(true);
      }
    }
    // one entry, no staging leftovers, every extractor's file in it
    const [videoDir] = readdirSync(cache);
    const inVideo = readdirSync(path.join(cache, videoDir));
    expect(inVideo).toHaveLength(1);
    const all = readdirSync(path.join(cache, videoDir, inVideo[0])).sort();
    // every data file has its checksum beside it, and nothing else was left there
    const files = all.filter((f) => !f.endsWith('.sha256'));
    expect(all.filter((f) => f.endsWith('.sha256')).sort()).toEqual(files.map((f) => `${f}.sha256`).sort());
    expect(files.filter((f) => !f.endsWith('.npy') && f !== 'faces.csv' && f !== 'decode-warnings.json')).toEqual([]);
    expect(files.filter((f) => f !== 'decode-warnings.json').map((f) => f.split('@')[0])).toEqual(['expression', 'faceres', 'faces.csv', 'geometry.npy', 'landmarks']);
    // and the next run takes everything from it
    const e = await runCli(['features', video, '--out', freshDir('e'), '--cache', cache, '--ep', 'cpu']);
    expect(e.stderr).toMatch(/\(from cache\)/);
    expect(existsSync(path.join(cache, videoDir, inVideo[0], 'faces.csv'))).toBe(true);
  }, 900_000);
});
