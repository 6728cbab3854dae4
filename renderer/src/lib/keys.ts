/**
 * The annotation keyboard, wherever focus is (except while typing into a text field, which gives
 * focus back on Enter or Esc): 0–7 start and end an expression segment, Enter ends it with its
 * class, Esc cancels it; Del deletes the selected segment, S splits it at the playhead, L loops
 * over it; Ctrl+Z / Ctrl+Shift+Z (Ctrl+Y) undo and redo.
 */
import { app, edit, newId, redoEdit, typingInto, undoEdit } from './state.svelte.js';

async function closeSegment(cls: number): Promise<void> {
  const p = app.pending;
  if (!p) return;
  app.pending = null;
  const [start, end] = [Math.min(p.start, app.time), Math.max(p.start, app.time)];
  if (end - start < 1e-3) return;
  const id = newId('seg');
  await edit([{ type: 'segment.add', segment: { id, start, end, cls, source: 'human' } }]);
  app.selected = id;
}

/** A class key (or its button): the first press starts a segment at the playhead, the second ends it. */
export async function classKey(cls: number): Promise<void> {
  if (!app.video || !app.doc) return;
  if (app.pending) await closeSegment(cls);
  else app.pending = { cls, start: app.time };
}

export async function splitSelected(): Promise<void> {
  const s = app.doc?.segments.find((x) => x.id === app.selected);
  if (!s || app.time <= s.start + 1e-3 || app.time >= s.end - 1e-3) return;
  const id = newId('seg');
  await edit([{ type: 'segment.update', id: s.id, patch: { end: app.time } }, { type: 'segment.add', segment: { id, start: app.time, end: s.end, cls: s.cls, source: 'human' } }]);
  app.selected = id;
}

export function toggleLoop(): void {
  const s = app.doc?.segments.find((x) => x.id === app.selected);
  app.loop = app.loop || !s ? null : { start: s.start, end: s.end };
}

export async function deleteSelected(): Promise<void> {
  const id = app.selected;
  if (!id) return;
  app.selected = null;
  await edit([{ type: 'segment.remove', id }]);
}

export async function onAnnotationKey(e: KeyboardEvent): Promise<void> {
  if (typingInto(e.target)) {
    if (e.key === 'Enter' || e.key === 'Escape') (e.target as HTMLElement).blur();
    return;
  }
  if (!app.video || !app.doc || app.rating) return;
  const mod = e.ctrlKey || e.metaKey;
  if (mod && e.key.toLowerCase() === 'z') {
    e.preventDefault();
    await (e.shiftKey ? redoEdit() : undoEdit());
    return;
  }
  if (mod && e.key.toLowerCase() === 'y') {
    e.preventDefault();
    await redoEdit();
    return;
  }
  if (mod || e.altKey) return;
  if (/^[0-7]$/.test(e.key)) {
    // also when a button or a list has focus: the key means the class, not "type 4 into it"
    e.preventDefault();
    await classKey(Number(e.key));
  } else if (e.key === 'Enter' && app.pending) {
    e.preventDefault();
    await closeSegment(app.pending.cls);
  } else if (e.key === 'Escape') {
    app.pending = null;
    app.selected = null;
    app.loop = null;
  } else if ((e.key === 'Delete' || e.key === 'Backspace') && app.selected) {
    e.preventDefault();
    await deleteSelected();
  } else if (e.key.toLowerCase() === 's' && app.selected) await splitSelected();
  else if (e.key.toLowerCase() === 'l' && app.selected) toggleLoop();
}
