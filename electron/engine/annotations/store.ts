/**
 * Annotation storage (format: docs/annotations.md). Per video and annotator:
 *   <annotator>.json           the document, rewritten atomically when compacted
 *   <annotator>.journal.jsonl  every batch of operations, appended and flushed to disk before the
 *                              request returns: a crash or kill loses nothing that was acknowledged
 * Loading replays the journal lines newer than the document's `journalSeq`; a journal torn by a
 * crash is repaired first (journal.ts), so no acknowledged edit is lost behind a torn line.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { applyOps, emptyDoc } from '../../../common/annotations.js';
import type { AnnotationDoc, AnnotationOp } from '../../../common/annotations.js';
import { describeError, UserError } from '../../../common/errors.js';
import { pathInside } from '../../../common/node/confined-path.js';
import { fileError } from '../../../common/node/fs-errors.js';
import { readJsonFile, writeFileAtomic } from '../../../common/node/storage.js';
import { appendRecord, readJournal } from './journal.js';

interface Stored extends AnnotationDoc {
  journalSeq?: number;
}

interface Entry {
  doc: AnnotationDoc;
  seq: number;
  compactTimer?: NodeJS.Timeout;
}

export class AnnotationStore {
  private readonly open = new Map<string, Entry>();

  constructor(
    readonly root: string,
    /** Compaction delay after the last change (the journal already makes every change durable). */
    private readonly compactAfterMs = 2000,
  ) {}

  /** Journal repairs made while loading (what was cut and where its copy is), for the log. */
  readonly repairs: string[] = [];

  // video ids and annotators arrive in requests: they name files here, never paths
  private files(videoKey: string, annotator: string) {
    const dir = pathInside(this.root, 'video id', videoKey);
    pathInside(dir, 'annotator', annotator);
    return { dir, json: path.join(dir, `${annotator}.json`), journal: path.join(dir, `${annotator}.journal.jsonl`) };
  }

  annotators(videoKey: string): string[] {
    const dir = pathInside(this.root, 'video id', videoKey);
    if (!existsSync(dir)) return [];
    const names = new Set<string>();
    for (const f of readdirSync(dir)) {
      const m = /^(.+?)(\.journal\.jsonl|\.json)$/.exec(f);
      if (m) names.add(m[1]);
    }
    return [...names].sort();
  }

  load(videoKey: string, annotator: string, video: { path: string; name: string }): AnnotationDoc {
    const key = `${videoKey}/${annotator}`;
    const cached = this.open.get(key);
    if (cached) return cached.doc;
    const f = this.files(videoKey, annotator);
    let doc: AnnotationDoc = emptyDoc(video, annotator, new Date().toISOString());
    let seq = 0;
    if (existsSync(f.json)) {
      const stored = readJsonFile(f.json, 'the annotation document is damaged: restore it from a backup, or move it away to start this annotator afresh (edits since its last save are in the journal beside it)') as Stored;
      if (!stored || !Array.isArray(stored.segments) || !Array.isArray(stored.aus) || !Array.isArray(stored.traces)) {
        throw new UserError('is not an annotation document (segments, aus or traces missing)', 'restore it from a backup, or move it away to start this annotator afresh', f.json);
      }
      seq = stored.journalSeq ?? 0;
      delete stored.journalSeq;
      doc = stored;
    }
    const journal = readJournal(f.journal);
    if (journal.repaired) {
      this.repairs.push(`${f.journal}: repaired after a crash (${journal.repaired.cutLines} damaged line(s) cut${journal.repaired.cutCopy ? `, kept in ${journal.repaired.cutCopy}` : ''})`);
      console.warn(this.repairs[this.repairs.length - 1]);
    }
    for (const entry of journal.records) {
      if (entry.seq <= seq) continue;
      doc = { ...applyOps(doc, entry.ops), updated: entry.at };
      seq = entry.seq;
    }
    this.open.set(key, { doc, seq });
    return doc;
  }

  apply(videoKey: string, annotator: string, video: { path: string; name: string }, ops: AnnotationOp[]): AnnotationDoc {
    const doc = this.load(videoKey, annotator, video);
    const entry = this.open.get(`${videoKey}/${annotator}`) as Entry;
    const at = new Date().toISOString();
    const next = { ...applyOps(doc, ops), updated: at };
    checkIntervals(next, ops);
    const f = this.files(videoKey, annotator);
    try {
      mkdirSync(f.dir, { recursive: true });
    } catch (err) {
      throw fileError(err, f.dir, 'create the annotation folder');
    }
    appendRecord(f.journal, { seq: entry.seq + 1, ops, at });
    entry.seq++;
    entry.doc = next;
    clearTimeout(entry.compactTimer);
    entry.compactTimer = setTimeout(() => this.compactQuietly(videoKey, annotator), this.compactAfterMs);
    entry.compactTimer.unref();
    return next;
  }

  /** Replaces a whole document (import, prefill), durably. */
  replace(videoKey: string, annotator: string, doc: AnnotationDoc): AnnotationDoc {
    const key = `${videoKey}/${annotator}`;
    const entry = this.open.get(key) ?? { doc, seq: 0 };
    entry.doc = doc;
    this.open.set(key, entry);
    this.compact(videoKey, annotator);
    return doc;
  }

  /** Writes the document atomically, then empties the journal it now contains. */
  compact(videoKey: string, annotator: string): void {
    const entry = this.open.get(`${videoKey}/${annotator}`);
    if (!entry) return;
    clearTimeout(entry.compactTimer);
    const f = this.files(videoKey, annotator);
    writeFileAtomic(f.json, `${JSON.stringify({ ...entry.doc, journalSeq: entry.seq } satisfies Stored, null, 1)}\n`);
    rmSync(f.journal, { force: true });
  }

  /**
   * Compaction in the background: a failure (disk full) loses nothing — the journal still holds
   * every edit — so it is reported and retried at the next edit, never thrown into a timer.
   */
  private compactQuietly(videoKey: string, annotator: string): void {
    try {
      this.compact(videoKey, annotator);
    } catch (err) {
      console.error(`annotations: ${describeError(err)} (the edits are safe in the journal)`);
    }
  }

  compactAll(): void {
    for (const key of this.open.keys()) {
      const i = key.lastIndexOf('/');
      this.compactQuietly(key.slice(0, i), key.slice(i + 1));
    }
  }
}

/** A segment or AU range an edit adds or changes must end after it starts. */
function checkIntervals(doc: AnnotationDoc, ops: AnnotationOp[]): void {
  for (const op of ops) {
    const id = op.type === 'segment.add' ? op.segment.id : op.type === 'au.add' ? op.range.id : op.type === 'segment.update' ? op.id : undefined;
    if (id === undefined) continue;
    const r = op.type === 'au.add' ? doc.aus.find((x) => x.id === id) : doc.segments.find((x) => x.id === id);
    if (r && !(r.end > r.start)) {
      throw new UserError(`${op.type === 'au.add' ? 'AU range' : 'segment'} "${id}" ends (${r.end} s) before it starts (${r.start} s)`, 'give an end time after the start time');
    }
  }
}
