/**
 * Model runs of a project's videos, kept so the timeline can show them and compare them:
 *   <project>/runs/<video key>/<run id>/run.json        what ran (or what was imported)
 *                                     /predictions.csv  our native CSV
 *                                     /faces.csv        face boxes (runs made here)
 * Imported OpenFace files are converted to the native CSV on import (docs/annotations.md).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { AUS, EXPRESSIONS } from '../../../common/labels.js';
import { writeFileAtomic } from '../../../common/node/storage.js';
import type { FaceSeries, RunCoverage, RunData, RunSummary } from '../../../common/run-data.js';
import { coverageOf, coveredBy, type Covered, type VideoTimeline } from './coverage.js';
import { isPyFeatHeader, PYFEAT_REQUIRED, pyFeatRows } from './pyfeat-import.js';
import { NATIVE_COLUMNS, NATIVE_GAZE_COLUMNS, NATIVE_POSE_COLUMNS, OPENFACE_GAZE_COLUMNS, OPENFACE_POSE_COLUMNS, openFaceAu } from '../export/columns.js';
import { nativeCsv } from '../export/prediction-csv.js';
import { readFacesTable } from '../features/faces-table.js';
import type { PredictionRow } from '../predict/predictor.js';
import { UserError } from '../../../common/errors.js';
import { pathInside } from '../../../common/node/confined-path.js';
import { readJsonFile } from '../../../common/node/storage.js';

interface StoredRun extends RunSummary {
  videoKey: string;
  auThresholds: number[];
  details?: unknown;
  /** Frames with a prediction and the seconds they last (runs saved before this field: read from the CSV). */
  covered?: Covered;
}

const num = (s: string | undefined): number | null => (s === undefined || s === '' ? null : Number(s));

/** Numbers of some columns of a row, mapped, or undefined when any is missing or empty. */
function vectorOf(r: Record<string, string>, columns: readonly string[], unit: (v: number) => number, layout: (v: number[]) => number[]): Float32Array | undefined {
  const values = columns.map((c) => num(r[c]));
  if (values.some((v) => v === null || !Number.isFinite(v))) return undefined;
  return Float32Array.from(layout((values as number[]).map(unit)));
}

/** What the app lists of a stored run. */
function summary(r: Pick<StoredRun, 'runId' | 'videoId' | 'created' | 'source' | 'label'>, coverage?: RunCoverage): RunSummary {
  return { runId: r.runId, videoId: r.videoId, created: r.created, source: r.source, label: r.label, ...(coverage && { coverage }) };
}

/** Rows of our native CSV (imports, and coverage of runs stored before it was recorded). */
function nativeRows(records: Record<string, string>[]): PredictionRow[] {
  return records.map((r) => ({
    frame: Number(r.frame), timestamp: Number(r.timestamp), faceId: r.face_id === '' ? undefined : Number(r.face_id), faceScore: num(r.face_score) ?? undefined,
    valence: num(r.valence) ?? undefined, arousal: num(r.arousal) ?? undefined,
    expression: r.Neutral === '' || r.Neutral === undefined ? undefined : Float32Array.from(EXPRESSIONS, (e) => Number(r[e])),
    au: r.AU1 === '' || r.AU1 === undefined ? undefined : Float32Array.from(AUS, (a) => Number(r[a])),
    // the native CSV has the angles only: translation unknown (NaN)
    pose: vectorOf(r, NATIVE_POSE_COLUMNS, (v) => (v * Math.PI) / 180, (rad) => [NaN, NaN, NaN, ...rad]),
    gaze: vectorOf(r, NATIVE_GAZE_COLUMNS, (v) => (v * Math.PI) / 180, (rad) => [NaN, NaN, NaN, NaN, NaN, NaN, ...rad]),
  }));
}

export class RunStore {
  constructor(readonly root: string) {}

  // ids arrive in requests: they name folders here, never paths (common/node/confined-path.ts)
  private runDir(videoKey: string, runId: string): string {
    return pathInside(this.root, 'run id', videoKey, runId);
  }

  private static read(file: string): StoredRun {
    return readJsonFile(file, 'the run record is damaged: delete its folder, or restore it from a backup') as StoredRun;
  }

  newRunId(): string {
    return `${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 6)}`;
  }

  /** The runs of a video; with its timeline, each says how much of the video it covers. */
  list(videoKey: string, videoId: string, video?: VideoTimeline): RunSummary[] {
    const dir = pathInside(this.root, 'video id', videoKey);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((r) => existsSync(path.join(dir, r, 'run.json')))
      .map((r) => RunStore.read(path.join(dir, r, 'run.json')))
      .map((r) => summary({ ...r, videoId }, video && coverageOf(r.covered ?? this.coveredFromCsv(path.join(dir, r.runId), video), video)))
      .sort((a, b) => a.created.localeCompare(b.created));
  }

  /** Coverage of a run saved before run.json recorded it. */
  private coveredFromCsv(dir: string, video: VideoTimeline): Covered {
    const file = path.join(dir, 'predictions.csv');
    if (!existsSync(file)) return { frames: 0, seconds: 0 };
    return coveredBy(nativeRows(parse(readFileSync(file), { columns: true }) as Record<string, string>[]), video);
  }

  /** Saves a run made here: the predictions and the face boxes they belong to. */
  save(videoKey: string, run: Omit<StoredRun, 'videoKey'>, rows: PredictionRow[], facesCsv?: string): RunSummary {
    const dir = this.runDir(videoKey, run.runId);
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(path.join(dir, 'predictions.csv'), nativeCsv(rows));
    if (facesCsv && existsSync(facesCsv)) copyFileSync(facesCsv, path.join(dir, 'faces.csv'));
    const stored = { ...run, covered: run.covered ?? coveredBy(rows), videoKey };
    writeFileAtomic(path.join(dir, 'run.json'), `${JSON.stringify(stored, null, 2)}\n`);
    return summary(stored);
  }

  find(runId: string): { dir: string; run: StoredRun } | undefined {
    if (!existsSync(this.root)) return undefined;
    for (const v of readdirSync(this.root)) {
      if (v.startsWith('.')) continue; // .work
      const dir = this.runDir(v, runId);
      if (existsSync(path.join(dir, 'run.json'))) return { dir, run: RunStore.read(path.join(dir, 'run.json')) };
    }
    return undefined;
  }

  load(runId: string): RunData {
    const found = this.find(runId);
    if (!found) throw new UserError(`no run "${runId}"`, 'list the runs of the video again');
    const rows = parse(readFileSync(path.join(found.dir, 'predictions.csv')), { columns: true }) as Record<string, string>[];
    const boxes = new Map<string, number[]>();
    if (existsSync(path.join(found.dir, 'faces.csv'))) {
      for (const { frame, face } of readFacesTable(path.join(found.dir, 'faces.csv'))) {
        if (face) boxes.set(`${frame}/${face.faceId}`, [face.box.x, face.box.y, face.box.w, face.box.h]);
      }
    }
    const faces = new Map<number, FaceSeries>();
    for (const r of rows) {
      if (r.success !== '1' || r.face_id === '') continue;
      const id = Number(r.face_id);
      let f = faces.get(id);
      // pose and gaze columns are absent from runs saved before they existed
      if (!f) faces.set(id, (f = { faceId: id, frames: [], times: [], valence: [], arousal: [], expression: r.Neutral === '' ? null : [], au: [], boxes: boxes.size ? [] : null, pose: NATIVE_POSE_COLUMNS[0] in r ? [] : null, gaze: NATIVE_GAZE_COLUMNS[0] in r ? [] : null }));
      f.frames.push(Number(r.frame));
      f.times.push(Number(r.timestamp));
      f.valence.push(num(r.valence));
      f.arousal.push(num(r.arousal));
      if (f.expression) f.expression.push(...EXPRESSIONS.map((e) => Number(r[e] || 0)));
      f.au?.push(...AUS.map((a) => Number(r[a] || 0)));
      if (f.boxes) f.boxes.push(...(boxes.get(`${r.frame}/${r.face_id}`) ?? [NaN, NaN, NaN, NaN]));
      f.pose?.push(...NATIVE_POSE_COLUMNS.map((c) => num(r[c])));
      f.gaze?.push(...NATIVE_GAZE_COLUMNS.map((c) => num(r[c])));
    }
    const { run } = found;
    return { runId: run.runId, videoId: run.videoId, created: run.created, source: run.source, label: run.label, auThresholds: run.auThresholds, faces: [...faces.values()] };
  }

  /**
   * Imports a CSV written by us (native), by OpenFace 2.x (either separator style) or by Py-Feat
   * (pyfeat-import.ts; frames placed at the video's frame times). OpenFace's
   * AU intensities (0–5) become activations in [0, 1] (÷ 5); AUs it lacks stay empty. Head pose and
   * gaze come along when the file has them (OpenFace writes zeros for failed frames: those rows have
   * no face here, so no pose either).
   */
  import(videoKey: string, videoId: string, file: string, video?: VideoTimeline): RunSummary {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UserError(`cannot be read (${(err as NodeJS.ErrnoException).code})`, 'check the path', file);
    }
    const header = text.split('\n', 1)[0].split(',').map((h) => h.trim());
    let rows: PredictionRow[];
    let kind: string;
    if (header.slice(0, 5).join(',') === NATIVE_COLUMNS.slice(0, 5).join(',')) {
      kind = 'affect-studio CSV';
      rows = nativeRows(parse(text, { columns: true }) as Record<string, string>[]);
    } else if (isPyFeatHeader(header)) {
      kind = 'Py-Feat CSV';
      rows = pyFeatRows(parse(text, { columns: true, trim: true }) as Record<string, string>[], video);
    } else if (header.includes('frame') && header.some((h) => /^AU\d\d_r$/.test(h))) {
      kind = 'OpenFace CSV';
      const parsed = parse(text, { columns: (h: string[]) => h.map((x) => x.trim()), trim: true }) as Record<string, string>[];
      rows = parsed.map((r) => {
        const ok = r.success === undefined || Number(r.success) === 1;
        return {
          frame: Number(r.frame),
          timestamp: Number(r.timestamp ?? 0),
          faceId: ok ? Number(r.face_id ?? 0) : undefined,
          faceScore: num(r.confidence) ?? undefined,
          au: ok ? Float32Array.from(AUS, (a) => {
            const v = r[`${openFaceAu(a)}_r`];
            return v === undefined ? NaN : Math.max(0, Math.min(1, Number(v) / 5));
          }) : undefined,
          pose: ok ? vectorOf(r, OPENFACE_POSE_COLUMNS, (v) => v, (v) => v) : undefined,
          gaze: ok ? vectorOf(r, OPENFACE_GAZE_COLUMNS, (v) => v, (v) => v) : undefined,
        };
      });
    } else {
      const found = header.filter(Boolean).slice(0, 8).join(', ') + (header.length > 8 ? ', …' : '');
      throw new UserError(
        `is not a prediction CSV this version reads: expected the columns of affect-studio (${NATIVE_COLUMNS.slice(0, 5).join(', ')}, …), OpenFace 2.x (frame, …, AU01_r, …) or Py-Feat (${PYFEAT_REQUIRED.join(', ')}, AU01…, anger…neutral); found ${found || 'no header'}`,
        'import a CSV written by `affect-studio predict`, OpenFace FeatureExtraction or Py-Feat', file);
    }
    if (!rows.length) throw new UserError('has no rows', 'import a CSV with predictions', file);
    const runId = this.newRunId();
    const covered = coveredBy(rows, video);
    const saved = this.save(videoKey, { runId, videoId, created: new Date().toISOString(), source: 'import', label: `${kind}: ${path.basename(file)}`, auThresholds: AUS.map(() => 0.5), covered }, rows);
    return video ? { ...saved, coverage: coverageOf(covered, video) } : saved;
  }
}
