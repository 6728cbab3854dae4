/**
 * Application state shared by the components, and the actions that change it. Components read
 * these fields and call these functions; only this module talks to the API about videos, runs and
 * annotations.
 */
import type { AnnotationDoc, AnnotationOp, AppInfoT, RunData, RunSummary, VideoSummary } from './types.js';
import { call, ApiError } from './api.js';
import { MAX_OPS_PER_APPLY } from '../../../electron/api/contract.js';
import { clampView, type View } from './timeline-math.js';
import { UndoStack } from './undo.js';
import { applyOp as applyLocal } from '../../../common/annotations.js';
import { deepLinkVideo, loadSession, saveSession, type Tab } from './session.js';

export const app = $state({
  info: null as AppInfoT | null,
  video: null as VideoSummary | null,
  /** Where the player loads the video from: the original, or a playback copy the browser can decode. */
  playback: { url: '', copy: false, note: '' },
  /** Current playback time, seconds (driven by the player). */
  time: 0,
  playing: false,
  rate: 1,
  /** Requested seek (the player acts on it). */
  seekTo: null as number | null,
  /** Loop playback over this range (a selected segment), when set. */
  loop: null as { start: number; end: number } | null,
  runs: [] as RunSummary[],
  run: null as RunData | null,
  compare: null as RunData | null,
  faceId: 0,
  view: { start: 0, end: 10 } as View,
  tab: 'models' as Tab,
  annotator: 'annotator1',
  /** The active annotator's document (editable). */
  doc: null as AnnotationDoc | null,
  /** Every other annotator's document for this video (shown as tiers, read-only). */
  others: [] as AnnotationDoc[],
  /** The selected segment of the active tier. */
  selected: null as string | null,
  /** An expression segment being recorded (a class key pressed once; pressed again it ends). */
  pending: null as { cls: number; start: number } | null,
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

export function setTab(tab: Tab): void {
  app.tab = tab;
  saveSession({ tab });
}

export function setView(view: View): void {
  app.view = view;
}

export async function openVideo(path: string, restore: { runId?: string; compareId?: string; view?: View } = {}): Promise<void> {
  try {
    app.error = '';
    const video = await call('videos.open', { path });
    app.video = video;
    app.playback = { url: video.proxyUrl ?? video.mediaUrl, copy: !!video.proxyUrl, note: video.proxyUrl ? playbackCopyNote(video) : '' };
    app.time = 0;
    app.run = null;
    app.compare = null;
    app.selected = null;
    app.loop = null;
    app.view = clampView(restore.view ?? { start: 0, end: Math.min(video.durationSec, 30) }, video.durationSec);
    saveSession({ videoPath: video.path });
    await refreshRuns();
    const known = (id?: string) => (id && app.runs.some((r) => r.runId === id) ? id : undefined);
    const runId = known(restore.runId) ?? app.runs[app.runs.length - 1]?.runId;
    if (runId) await selectRun(runId);
    if (known(restore.compareId)) await selectRun(restore.compareId as string, 'compare');
    await loadAnnotations();
  } catch (err) {
    report(err);
  }
}

export const playbackCopyNote = (v: VideoSummary): string =>
  `playing an H.264 copy made because this browser cannot decode ${v.codec}; frame times and predictions come from the original`;

/** Where the app was before a reload (or what a deep link asks for). */
export async function restoreSession(): Promise<void> {
  const s = loadSession();
  if (s.tab) app.tab = s.tab;
  if (s.annotator) app.annotator = s.annotator;
  const linked = deepLinkVideo();
  if (linked) return openVideo(linked);
  if (s.videoPath) await openVideo(s.videoPath, { runId: s.runId, compareId: s.compareId, view: s.view });
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
    saveSession({ runId: runId ?? undefined });
  } else {
    app.compare = data;
    saveSession({ compareId: runId ?? undefined });
  }
}

/** Loads the active annotator's document (editable) and every other annotator's (shown as tiers). */
export async function loadAnnotations(): Promise<void> {
  if (!app.video) return;
  undo = new UndoStack();
  syncHistory();
  app.selected = null;
  const videoId = app.video.videoId;
  saveSession({ annotator: app.annotator });
  app.doc = await call('annotations.load', { videoId, annotator: app.annotator });
  const names = (await call('annotations.list', { videoId })).filter((a) => a !== app.annotator);
  app.others = await Promise.all(names.map((annotator) => call('annotations.load', { videoId, annotator })));
}

function syncHistory(): void {
  history.canUndo = undo.canUndo;
  history.canRedo = undo.canRedo;
}

async function send(ops: AnnotationOp[]): Promise<void> {
  if (!app.video || !ops.length) return;
  app.saving = true;
  try {
    // a large edit (a pre-fill of a long video) goes in order, in several requests
    for (let i = 0; i < ops.length; i += MAX_OPS_PER_APPLY) {
      await call('annotations.apply', { videoId: app.video.videoId, annotator: app.annotator, ops: ops.slice(i, i + MAX_OPS_PER_APPLY) });
    }
  } catch (err) {
    report(err);
  } finally {
    app.saving = false;
  }
}

/** A user edit: applied at once, sent to the engine (which journals it), undoable. */
export async function edit(ops: AnnotationOp[]): Promise<void> {
  if (!app.doc || !ops.length) return;
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

/** True when keys should reach the text field rather than the shortcuts (digits type into it). */
export function typingInto(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  if (el.isContentEditable || el.tagName === 'TEXTAREA') return true;
  if (el.tagName !== 'INPUT') return false;
  const type = (el as HTMLInputElement).type;
  return ['text', 'search', 'number', 'url', 'email', 'password', ''].includes(type);
}
