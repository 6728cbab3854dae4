/**
 * Readers of ABAW annotation files (formats: ../shared/ABAW.md), strict about what they accept:
 * a malformed row is an error naming the file and the line. Missing labels (−5 for V/A, −1 for
 * expression and AUs) become `undefined` / −1 so every metric and loss can mask per task.
 *
 * - s-Aff-Wild2 multi-task files: `image,valence,arousal,expression,aus` then
 *   `<video>/<NNNNN>.jpg,V,A,EXPR,AU1,…,AU26` (16 fields);
 * - Aff-Wild2 per-task files, one `<video>.txt` per video, line k+1 = frame k, headed
 *   `valence,arousal`, the 8 expression names (one class index per line), or the 12 AU names.
 */
import { UserError } from '../../common/errors.js';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { AUS, EXPRESSIONS, INVALID } from '../../common/labels.js';

export interface FrameLabel {
  valence?: number;
  arousal?: number;
  expression?: number;
  /** 12 values in AU order: 1 present, 0 absent, −1 not labelled. Absent when no AU is labelled. */
  au?: Int8Array;
}

/** video → frame number (1-based) → labels */
export type LabelSet = Map<string, Map<number, FrameLabel>>;

/** A malformed annotation file: the file, the line and what is wrong with it. */
export class LabelFileError extends UserError {
  constructor(
    file: string,
    readonly line: number | undefined,
    message: string,
  ) {
    super(`${line ? `line ${line}: ` : ''}${message}`, 'fix the annotation file (formats: docs/training.md)', file);
    this.name = 'LabelFileError';
  }
}

export const MTL_HEADER = 'image,valence,arousal,expression,aus';
const IMAGE = /^(.+)\/(\d+)\.(jpg|png|jpeg)$/i;

function number(file: string, line: number, what: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new LabelFileError(file, line, `${what} "${text}" is not a number`);
  return v;
}

function va(file: string, line: number, what: string, text: string): number | undefined {
  const v = number(file, line, what, text);
  if (v === INVALID.va) return undefined;
  if (v < -1 || v > 1) throw new LabelFileError(file, line, `${what} ${v} is outside [-1, 1] (−5 marks a missing label)`);
  return v;
}

function expression(file: string, line: number, text: string): number | undefined {
  const v = number(file, line, 'expression', text);
  if (v === INVALID.expression) return undefined;
  if (!Number.isInteger(v) || v < 0 || v >= EXPRESSIONS.length) throw new LabelFileError(file, line, `expression ${v} is not a class index 0–${EXPRESSIONS.length - 1} (−1 marks a missing label)`);
  return v;
}

function aus(file: string, line: number, fields: string[]): Int8Array | undefined {
  const out = new Int8Array(AUS.length);
  fields.forEach((t, i) => {
    const v = number(file, line, AUS[i], t);
    if (v !== 0 && v !== 1 && v !== INVALID.au) throw new LabelFileError(file, line, `${AUS[i]} ${v} is not 0, 1 or −1`);
    out[i] = v;
  });
  return out.some((v) => v !== -1) ? out : undefined;
}

const lines = (file: string): string[] => readFileSync(file, 'utf8').replace(/\r/g, '').split('\n');

function put(set: LabelSet, video: string, frame: number, label: FrameLabel): void {
  let frames = set.get(video);
  if (!frames) set.set(video, (frames = new Map()));
  frames.set(frame, { ...frames.get(frame), ...Object.fromEntries(Object.entries(label).filter(([, v]) => v !== undefined)) });
}

export function readMtlFile(file: string, into: LabelSet = new Map()): LabelSet {
  const text = lines(file);
  if (text[0]?.trim() !== MTL_HEADER) throw new LabelFileError(file, 1, `header is "${text[0]}", expected "${MTL_HEADER}"`);
  // a frame listed twice would silently take the later row's labels
  const seen = new Map<string, number>();
  for (let i = 1; i < text.length; i++) {
    const row = text[i].trim();
    if (!row) continue;
    const f = row.split(',');
    if (f.length !== 4 + AUS.length) throw new LabelFileError(file, i + 1, `${f.length} fields, expected ${4 + AUS.length} (image, valence, arousal, expression, ${AUS.length} AUs)`);
    const m = IMAGE.exec(f[0]);
    if (!m) throw new LabelFileError(file, i + 1, `image "${f[0]}" is not <video>/<frame>.jpg`);
    const label = {
      valence: va(file, i + 1, 'valence', f[1]),
      arousal: va(file, i + 1, 'arousal', f[2]),
      expression: expression(file, i + 1, f[3]),
      au: aus(file, i + 1, f.slice(4)),
    };
    const key = `${m[1]}/${Number(m[2])}`;
    const before = seen.get(key);
    if (before) throw new LabelFileError(file, i + 1, `frame ${f[0]} is labelled twice (lines ${before} and ${i + 1})`);
    seen.set(key, i + 1);
    put(into, m[1], Number(m[2]), label);
  }
  return into;
}

/** One Aff-Wild2 per-task file; the task is recognised by its header. */
export function readPerTaskFile(file: string, into: LabelSet = new Map()): LabelSet {
  const text = lines(file);
  const header = text[0]?.trim() ?? '';
  const video = path.basename(file, path.extname(file));
  const task = header === 'valence,arousal' ? 'va' : header === EXPRESSIONS.join(',') ? 'expression' : header === AUS.join(',') ? 'au' : undefined;
  if (!task) throw new LabelFileError(file, 1, `header "${header}" is none of: valence,arousal · ${EXPRESSIONS.join(',')} · ${AUS.join(',')}`);
  for (let i = 1; i < text.length; i++) {
    const row = text[i].trim();
    if (!row) continue;
    const f = row.split(',');
    const want = task === 'va' ? 2 : task === 'expression' ? 1 : AUS.length;
    if (f.length !== want) throw new LabelFileError(file, i + 1, `${f.length} fields, expected ${want}`);
    const frame = i; // line k+1 holds frame k
    if (task === 'va') put(into, video, frame, { valence: va(file, i + 1, 'valence', f[0]), arousal: va(file, i + 1, 'arousal', f[1]) });
    else if (task === 'expression') put(into, video, frame, { expression: expression(file, i + 1, f[0]) });
    else put(into, video, frame, { au: aus(file, i + 1, f) });
  }
  return into;
}

/**
 * Labels from a multi-task file, a per-task file, or a folder of them (searched recursively;
 * every `.txt` must be one of the two formats).
 */
export function readLabels(target: string, set: LabelSet = new Map()): LabelSet {
  const readOne = (file: string) => {
    const first = readFileSync(file, 'utf8').split('\n', 1)[0].trim();
    if (first === MTL_HEADER) readMtlFile(file, set);
    else readPerTaskFile(file, set);
  };
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) walk(path.join(p, name));
    } else if (p.endsWith('.txt')) readOne(p);
  };
  if (statSync(target).isDirectory()) walk(target);
  else readOne(target);
  return set;
}
