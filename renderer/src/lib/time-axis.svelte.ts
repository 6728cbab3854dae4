/**
 * The timeline's shared time axis: every track draws the same visible window (app.view) over the
 * same width, and every track answers the pointer the same way — wheel zooms at the pointer, a drag
 * pans, a click seeks, hovering reads out the time and the track's values.
 */
import { app, seek } from './state.svelte.js';
import { pan, xToTime, zoomAt } from './timeline-math.js';

/** Width of the label column left of every track (CSS pixels): the tracks' time 0 lines up after it. */
export const LABEL_WIDTH = 112;

export const axis = $state({
  /** Time under the pointer on any track, or null. */
  hover: null as number | null,
  /** What the hovered track says about that time. */
  readout: '',
});

export interface TrackPointer {
  /** What to show for the time and height under the pointer (CSS pixels from the track's top). */
  describe?: (t: number, y: number) => string;
  /**
   * A press the track handles itself (e.g. grabbing a segment's bound): return a handler for the
   * pointer's moves and release, or undefined to let the press pan / seek as usual.
   */
  grab?: (t: number, y: number, e: PointerEvent) => { move(t: number): void; up(t: number): void } | undefined;
  /** A click (a press without a drag) the track handles itself; return true when handled. */
  click?: (t: number, y: number) => boolean;
}

const duration = () => app.video?.durationSec ?? 0;

/** Svelte action: the shared pointer behaviour of a track element. */
export function timeNav(node: HTMLElement, options: TrackPointer = {}) {
  let o = options;
  let drag: { x: number; view: { start: number; end: number }; moved: boolean } | undefined;
  let grabbed: ReturnType<NonNullable<TrackPointer['grab']>>;
  const at = (e: PointerEvent | WheelEvent) => {
    const r = node.getBoundingClientRect();
    return { t: xToTime(e.clientX - r.left, app.view, r.width), y: e.clientY - r.top, width: r.width };
  };
  const wheel = (e: WheelEvent) => {
    e.preventDefault();
    const p = at(e);
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      // horizontal scroll (trackpads, Shift+wheel) pans
      const d = (e.deltaX || e.deltaY) / p.width;
      app.view = pan(app.view, d * (app.view.end - app.view.start), duration());
    } else app.view = zoomAt(app.view, p.t, e.deltaY > 0 ? 1.25 : 0.8, duration());
  };
  const down = (e: PointerEvent) => {
    if (e.button !== 0) return;
    node.setPointerCapture(e.pointerId);
    const p = at(e);
    grabbed = o.grab?.(p.t, p.y, e);
    if (!grabbed) drag = { x: e.clientX, view: { ...app.view }, moved: false };
  };
  const move = (e: PointerEvent) => {
    const p = at(e);
    if (grabbed) return grabbed.move(p.t);
    if (drag) {
      const dx = e.clientX - drag.x;
      if (Math.abs(dx) > 3) drag.moved = true;
      if (drag.moved) app.view = pan(drag.view, (-dx / p.width) * (drag.view.end - drag.view.start), duration());
      return;
    }
    axis.hover = p.t;
    axis.readout = o.describe?.(p.t, p.y) ?? '';
  };
  const up = (e: PointerEvent) => {
    const p = at(e);
    if (grabbed) grabbed.up(p.t);
    else if (drag && !drag.moved && !o.click?.(p.t, p.y)) seek(p.t);
    grabbed = undefined;
    drag = undefined;
  };
  const leave = () => {
    if (drag || grabbed) return;
    axis.hover = null;
    axis.readout = '';
  };
  node.addEventListener('wheel', wheel, { passive: false });
  node.addEventListener('pointerdown', down);
  node.addEventListener('pointermove', move);
  node.addEventListener('pointerup', up);
  node.addEventListener('pointerleave', leave);
  return {
    update(next: TrackPointer) {
      o = next;
    },
    destroy() {
      node.removeEventListener('wheel', wheel);
      node.removeEventListener('pointerdown', down);
      node.removeEventListener('pointermove', move);
      node.removeEventListener('pointerup', up);
      node.removeEventListener('pointerleave', leave);
    },
  };
}

/**
 * Sizes a canvas to its CSS box at the screen's pixel density and returns a context scaled to CSS
 * pixels (so drawing code works in CSS pixels and stays sharp), or undefined while it has no size.
 */
export function fitCanvas(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; width: number; height: number } | undefined {
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return undefined;
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return undefined;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}
