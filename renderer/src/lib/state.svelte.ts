/**
 * Application state shared by the components, and the actions that change it. Components read
 * these fields and call these functions; only this module talks to the API about videos and runs.
 */
import type { AnnotationDoc, AnnotationOp, AppInfoT, RunData, RunSummary, VideoSummary } from './types.js';
import { call, ApiError } from './api.js';
import { clampView, type View } from './timeline-math.js';
import { UndoStack } from './undo.js';
import { applyOp as applyLocal } from '../../../common/annotations.js';

export const app = $state({
  info: null as AppInfoT | null,
  video: null as VideoSummary | null,
  /** Current playback time, seconds (driven by the player). */
  time: 0,
  playing: false,
  /** Requested seek (the player acts on it). */
  seekTo: null as number | null,
  runs: [] as RunSummary[],
  run: null as RunData | null,
  compare: null as RunData | null,
  faceId: 0,
  view: { start: 0, end: 10 } as View,
  annotator: 'annotator1',
  doc: null as AnnotationDoc | null,
  saving: false,
  /** A continuous rating take is running: the keyboard rates instead of stepping frames. */
  rating: false,
  error: '',
  notice: '',
});

let undo = new UndoStack();
export const history = $state({ canUndo: false, canRedo: false });

export function report(err: unknown): void {
  app.error = err instanceof ApiError ? err.text : (err as Error).message;
}

export async function openVideo(path: string): Promise<void> {
  try {
    app.error = '';
    const video = await call('videos.open', { path });
    app.video = video;
    app.time = 0;
    app.run = null;
    app.compare = null;
    app.view = clampView({ start: 0, end: Math.min(video.durationSec, 30) }, video.durationSec);
    await refreshRuns();
    if (app.runs.length) await selectRun(app.runs[app.runs.length - 1].runId);
    await loadAnnotations();
  } catch (err) {
    report(err);
  }
}

export async function refreshRuns(): Promise<void> {
  if (!app.video) return;
  app.runs = await call('runs.list', { videoId: app.video.videoId });
}

export async function selectRun(runId: string | null, which: 'run' | 'compare' = 'run'): Promise<void> {
  const data = runId ? await call('runs.get', { runId }) : null;
  if (which === 'run') {
    app.run = data;
    if (data && !data.faces.some((f) => f.faceId === app.faceId)) app.faceId = data.faces[0]?.faceId ?? 0;
  } else app.compare = data;
}

export async function loadAnnotations(): Promise<void> {
  if (!app.video) return;
  undo = new UndoStack();
  syncHistory();
  app.doc = await call('annotations.load', { videoId: app.video.videoId, annotator: app.annotator });
}

function syncHistory(): void {
  history.canUndo = undo.canUndo;
  history.canRedo = undo.canRedo;
}

async function send(ops: AnnotationOp[]): Promise<void> {
  if (!app.video || !ops.length) return;
  app.saving = true;
  try {
    await call('annotations.apply', { videoId: app.video.videoId, annotator: app.annotator, ops });
  } catch (err) {
    report(err);
  } finally {
    app.saving = false;
  }
}

/** A user edit: applied at once, sent to the engine (which journals it), undoable. */
export async function edit(ops: AnnotationOp[]): Promise<void> {
  if (!app.doc) return;
  app.doc = undo.record(app.doc, ops).doc;
  syncHistory();
  await send(ops);
}

/** More samples of the rating take in progress (part of the same undoable edit). */
export async function extendEdit(ops: AnnotationOp[]): Promise<void> {
  if (!app.doc) return;
  app.doc = undo.extend(app.doc, ops);
  await send(ops);
}

export async function undoEdit(): Promise<void> {
  const ops = undo.undo();
  if (!ops || !app.doc) return;
  app.doc = ops.reduce((d, op) => applyLocal(d, op), app.doc);
  syncHistory();
  await send(ops);
}

export async function redoEdit(): Promise<void> {
  const ops = undo.redo();
  if (!ops || !app.doc) return;
  app.doc = ops.reduce((d, op) => applyLocal(d, op), app.doc);
  syncHistory();
  await send(ops);
}

export function seek(t: number): void {
  if (!app.video) return;
  app.seekTo = Math.max(0, Math.min(t, app.video.durationSec));
}

export const newId = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
