/**
 * Annotation storage (format: docs/annotations.md). Per video and annotator:
 *   <annotator>.json           the document, rewritten atomically when compacted
 *   <annotator>.journal.jsonl  every batch of operations, appended and flushed to disk before the
 *                              request returns: a crash or kill loses nothing that was acknowledged
 * Loading replays the journal lines newer than the document's `journalSeq`; a torn last line (the
 * process died while writing it) is ignored.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { applyOps, emptyDoc } from '../../../common/annotations.js';
import type { AnnotationDoc, AnnotationOp } from '../../../common/annotations.js';
import { writeFileAtomic } from '../../../common/node/storage.js';

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

  private files(videoKey: string, annotator: string) {
    const dir = path.join(this.root, videoKey);
    return { dir, json: path.join(dir, `${annotator}.json`), journal: path.join(dir, `${annotator}.journal.jsonl`) };
  }

  annotators(videoKey: string): string[] {
    const dir = path.join(this.root, videoKey);
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
      const stored = JSON.parse(readFileSync(f.json, 'utf8')) as Stored;
      seq = stored.journalSeq ?? 0;
      delete stored.journalSeq;
      doc = stored;
    }
    if (existsSync(f.journal)) {
      for (const line of readFileSync(f.journal, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        let entry: { seq: number; ops: AnnotationOp[]; at: string };
        try {
          entry = JSON.parse(line);
        } catch {
          break; // torn write at the moment of a crash: everything before it is intact
        }
        if (entry.seq <= seq) continue;
        doc = { ...applyOps(doc, entry.ops), updated: entry.at };
        seq = entry.seq;
      }
    }
    this.open.set(key, { doc, seq });
    return doc;
  }

  apply(videoKey: string, annotator: string, video: { path: string; name: string }, ops: AnnotationOp[]): AnnotationDoc {
    const doc = this.load(videoKey, annotator, video);
    const entry = this.open.get(`${videoKey}/${annotator}`) as Entry;
    const at = new Date().toISOString();
    const next = { ...applyOps(doc, ops), updated: at };
    const f = this.files(videoKey, annotator);
    mkdirSync(f.dir, { recursive: true });
    const fd = openSync(f.journal, 'a');
    try {
      writeSync(fd, `${JSON.stringify({ seq: entry.seq + 1, ops, at })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    entry.seq++;
    entry.doc = next;
    clearTimeout(entry.compactTimer);
    entry.compactTimer = setTimeout(() => this.compact(videoKey, annotator), this.compactAfterMs);
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
    mkdirSync(f.dir, { recursive: true });
    writeFileAtomic(f.json, `${JSON.stringify({ ...entry.doc, journalSeq: entry.seq } satisfies Stored, null, 1)}\n`);
    rmSync(f.journal, { force: true });
  }

  compactAll(): void {
    for (const key of this.open.keys()) {
      const i = key.lastIndexOf('/');
      this.compact(key.slice(0, i), key.slice(i + 1));
    }
  }
}
