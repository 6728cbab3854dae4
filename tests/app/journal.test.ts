/**
 * The annotation journal after a crash mid-append: the torn line is cut (and kept in a copy), the
 * journal repaired before anything is appended, and no acknowledged edit is lost — also with the
 * real server killed with SIGKILL around the damage.
 */
import { describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { appendRecord, readJournal } from '../../electron/engine/annotations/journal.js';
import { freshDir, testPatternVideo } from '../helpers/fixtures.js';
import { serve, type Served } from '../e2e/server.js';

const rec = (seq: number, id = `s${seq}`) => ({ seq, ops: [{ type: 'segment.add' as const, segment: { id, start: seq, end: seq + 0.5, cls: 4, source: 'human' as const } }], at: `2026-01-01T00:00:0${seq % 10}.000Z` });
const line = (seq: number) => `${JSON.stringify(rec(seq))}\n`;

describe('journal repair', () => {
  it('a torn last line is cut, copied aside, and the next append starts on a clean line', () => {
    const file = path.join(freshDir('j'), 'kim.journal.jsonl');
    writeFileSync(file, `${line(1)}${line(2)}{"seq":3,"ops":[{"type":"tra`);
    const r = readJournal(file);
    expect(r.records.map((x) => x.seq)).toEqual([1, 2]);
    expect(r.repaired?.cutLines).toBe(1);
    expect(readFileSync(r.repaired?.cutCopy as string, 'utf8')).toBe('{"seq":3,"ops":[{"type":"tra\n');
    expect(readFileSync(file, 'utf8')).toBe(`${line(1)}${line(2)}`);
    appendRecord(file, rec(3));
    expect(readJournal(file).records.map((x) => x.seq)).toEqual([1, 2, 3]);
    expect(readJournal(file).repaired).toBeUndefined();
  });

  it('a good record glued behind a torn one (appended by an older version) is recovered, and so is everything after it', () => {
    const file = path.join(freshDir('j'), 'kim.journal.jsonl');
    writeFileSync(file, `${line(1)}{"seq":2,"ops":[{"type":"tra${line(3)}${line(4)}`);
    const r = readJournal(file);
    expect(r.records.map((x) => x.seq)).toEqual([1, 3, 4]);
    expect(readFileSync(r.repaired?.cutCopy as string, 'utf8')).toBe('{"seq":2,"ops":[{"type":"tra\n');
  });

  it('a complete last record missing only its newline is kept', () => {
    const file = path.join(freshDir('j'), 'kim.journal.jsonl');
    writeFileSync(file, `${line(1)}${line(2).trimEnd()}`);
    const r = readJournal(file);
    expect(r.records.map((x) => x.seq)).toEqual([1, 2]);
    expect(r.repaired?.cutCopy).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe(`${line(1)}${line(2)}`);
  });
});

describe('annotations across kill -9 with a torn journal line', () => {
  it('every acknowledged edit survives two crashes and a torn append between them', async () => {
    const dir = freshDir('torn');
    const video = testPatternVideo(30, 25);
    const start = async () => {
      const s = await serve(dir);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const api = async (method: string, args: unknown): Promise<any> => {
        const r = await fetch(`${s.origin}/api/${method}`, { method: 'POST', body: JSON.stringify(args), headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' } });
        const body = (await r.json()) as { error?: string };
        if (!r.ok) throw new Error(body.error);
        return body;
      };
      const { videoId } = await api('videos.open', { path: video });
      return { s, api, videoId: videoId as string };
    };
    const kill = async (s: Served) => {
      s.proc.kill('SIGKILL');
      await new Promise((r) => s.proc.once('exit', r));
    };
    const segment = (id: string, at: number) => ({ type: 'segment.add', segment: { id, start: at, end: at + 0.1, cls: 3 } });

    const first = await start();
    for (const [i, id] of ['a', 'b', 'c'].entries()) await first.api('annotations.apply', { videoId: first.videoId, annotator: 'kim', ops: [segment(id, i * 0.2)] });
    await kill(first.s);
    // the crash happened in the middle of writing the next edit (never acknowledged)
    const annDir = path.join(dir, 'project', 'annotations', first.videoId);
    appendFileSync(path.join(annDir, 'kim.journal.jsonl'), '{"seq":4,"ops":[{"type":"tra');

    const second = await start();
    await second.api('annotations.apply', { videoId: second.videoId, annotator: 'kim', ops: [segment('d', 0.8)] });
    await second.api('annotations.apply', { videoId: second.videoId, annotator: 'kim', ops: [segment('e', 0.9)] });
    const info = await second.api('app.info', {});
    await kill(second.s);

    const third = await start();
    const doc = await third.api('annotations.load', { videoId: third.videoId, annotator: 'kim' });
    expect(doc.segments.map((x: { id: string }) => x.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    // the cut bytes are kept beside the journal, and the app said so
    const cut = readdirSync(annDir).filter((f) => f.startsWith('kim.journal.jsonl.cut-'));
    expect(cut).toHaveLength(1);
    expect(readFileSync(path.join(annDir, cut[0]), 'utf8')).toBe('{"seq":4,"ops":[{"type":"tra\n');
    expect(info.problems.join('\n')).toMatch(/kim\.journal\.jsonl: repaired after a crash \(1 damaged line\(s\) cut, kept in .*\.cut-/);
    expect(existsSync(path.join(annDir, 'kim.json')) || existsSync(path.join(annDir, 'kim.journal.jsonl'))).toBe(true);
    await third.s.stop();
  });

  it('a segment that ends before it starts is refused; a damaged document is an error naming the file', async () => {
    const dir = freshDir('bad-doc');
    const s = await serve(dir);
    const call = async (method: string, args: unknown) => {
      const r = await fetch(`${s.origin}/api/${method}`, { method: 'POST', body: JSON.stringify(args), headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' } });
      return { status: r.status, body: (await r.json()) as { error?: string; file?: string; hint?: string; videoId?: string } };
    };
    const { body: v } = await call('videos.open', { path: testPatternVideo(30, 25) });
    const bad = await call('annotations.apply', { videoId: v.videoId, annotator: 'kim', ops: [{ type: 'segment.add', segment: { id: 'x', start: 0.6, end: 0.2, cls: 1 } }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/segment "x" ends \(0\.2 s\) before it starts \(0\.6 s\)/);
    await call('annotations.apply', { videoId: v.videoId, annotator: 'kim', ops: [{ type: 'segment.add', segment: { id: 'y', start: 0.2, end: 0.6, cls: 1 } }] });
    const upd = await call('annotations.apply', { videoId: v.videoId, annotator: 'kim', ops: [{ type: 'segment.update', id: 'y', patch: { end: 0.1 } }] });
    expect(upd.status).toBe(400);
    const au = await call('annotations.apply', { videoId: v.videoId, annotator: 'kim', ops: [{ type: 'au.add', range: { id: 'z', au: 'AU12', start: 1, end: 1 } }] });
    expect(au.status).toBe(400);
    expect(au.body.error).toMatch(/AU range "z"/);

    const docFile = path.join(dir, 'project', 'annotations', v.videoId as string, 'ann.json');
    writeFileSync(docFile, '{"format":"affect-studio-annotation/1","segm');
    const load = await call('annotations.load', { videoId: v.videoId, annotator: 'ann' });
    expect(load.status).toBe(400);
    expect(load.body.file).toBe(docFile);
    expect(load.body.error).toMatch(/is not valid JSON/);
    expect(load.body.hint).toMatch(/restore it from a backup/);
    await s.stop();
  });
});
