/**
 * The annotation journal: one JSON record per line, each appended and flushed to disk before the
 * edit is acknowledged. A crash can tear the line being written; the next append would then glue
 * a good record onto the torn one. So on opening, a damaged journal is repaired first: every
 * complete record is kept (also one glued behind a torn prefix), what is cut is kept in a copy
 * beside the journal, and the journal is rewritten with only complete lines before anything is
 * appended. An append that fails half-way is cut back to where it started.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync } from 'node:fs';
import type { AnnotationOp } from '../../../common/annotations.js';
import { fileError } from '../../../common/node/fs-errors.js';
import { writeAll, writeFileAtomic } from '../../../common/node/storage.js';

export interface JournalRecord {
  seq: number;
  ops: AnnotationOp[];
  at: string;
}

export interface JournalRead {
  records: JournalRecord[];
  /** Set when the journal was damaged and repaired: the copy of what was cut, if anything was. */
  repaired?: { cutCopy?: string; cutLines: number };
}

const RECORD_START = '{"seq":';

function parseRecord(text: string): JournalRecord | undefined {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    return undefined;
  }
  const rec = r as Partial<JournalRecord> | null;
  return rec && Number.isInteger(rec.seq) && Array.isArray(rec.ops) && typeof rec.at === 'string' ? (rec as JournalRecord) : undefined;
}

/** A line's complete records: the line itself, or the records glued behind a torn prefix. */
function recordsOf(line: string): { records: JournalRecord[]; cut: string[] } {
  const whole = parseRecord(line);
  if (whole) return { records: [whole], cut: [] };
  for (let at = line.indexOf(RECORD_START, 1); at > 0; at = line.indexOf(RECORD_START, at + 1)) {
    const rest = recordsOf(line.slice(at));
    if (rest.records.length) return { records: rest.records, cut: [line.slice(0, at), ...rest.cut] };
  }
  return { records: [], cut: [line] };
}

/** Reads the journal; repairs it on disk first when it is damaged (see the file comment). */
export function readJournal(file: string): JournalRead {
  if (!existsSync(file)) return { records: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fileError(err, file, 'read the annotation journal');
  }
  const records: JournalRecord[] = [];
  const cut: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const r = recordsOf(line);
    records.push(...r.records);
    cut.push(...r.cut);
  }
  const endsClean = text === '' || text.endsWith('\n');
  if (!cut.length && endsClean) return { records };
  let cutCopy: string | undefined;
  if (cut.length) {
    cutCopy = `${file}.cut-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    writeFileAtomic(cutCopy, `${cut.join('\n')}\n`);
  }
  writeFileAtomic(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return { records, repaired: { cutCopy, cutLines: cut.length } };
}

/**
 * Appends one record and flushes it to disk. If the write fails part-way (disk full), the journal
 * is cut back to its previous length, so no torn line stays behind.
 */
export function appendRecord(file: string, record: JournalRecord): void {
  const line = Buffer.from(`${JSON.stringify(record)}\n`);
  let fd: number;
  try {
    fd = openSync(file, 'a');
  } catch (err) {
    throw fileError(err, file, 'open the annotation journal');
  }
  try {
    const before = fstatSync(fd).size;
    try {
      writeAll(fd, line);
      fsyncSync(fd);
    } catch (err) {
      try {
        ftruncateSync(fd, before);
      } catch {
        /* the read-side repair handles what is left */
      }
      throw fileError(err, file, 'save the edit to the annotation journal');
    }
  } finally {
    closeSync(fd);
  }
}
