/**
 * The timeline's arithmetic, kept out of the components so it can be tested on its own: the
 * visible window, zoom and pan, which samples fall in view, and per-pixel summaries so a
 * 30-minute video draws as fast as a 30-second one (never one element per frame).
 */
export interface View {
  /** Visible time range, seconds. */
  start: number;
  end: number;
}

export const MIN_SPAN = 0.5;

export function clampView(v: View, duration: number): View {
  const span = Math.min(Math.max(v.end - v.start, MIN_SPAN), Math.max(duration, MIN_SPAN));
  const start = Math.min(Math.max(v.start, 0), Math.max(duration - span, 0));
  return { start, end: start + span };
}

/** Zooms by `factor` (< 1 zooms in) keeping the time under the pointer in place. */
export function zoomAt(v: View, at: number, factor: number, duration: number): View {
  const start = at - (at - v.start) * factor;
  const end = at + (v.end - at) * factor;
  return clampView({ start, end }, duration);
}

export function pan(v: View, seconds: number, duration: number): View {
  return clampView({ start: v.start + seconds, end: v.end + seconds }, duration);
}

/** Keeps the playhead in view while playing: pages forward when it leaves the window. */
export function follow(v: View, t: number, duration: number): View {
  if (t >= v.start && t <= v.end) return v;
  const span = v.end - v.start;
  return clampView({ start: t - span * 0.1, end: t - span * 0.1 + span }, duration);
}

export const timeToX = (t: number, v: View, width: number): number => ((t - v.start) / (v.end - v.start)) * width;
export const xToTime = (x: number, v: View, width: number): number => v.start + (x / width) * (v.end - v.start);

/** First index with times[i] >= t (times ascending). */
export function lowerBound(times: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index range [from, to) of samples inside the view, plus one on each side so lines reach the edges. */
export function visibleRange(times: ArrayLike<number>, v: View): [number, number] {
  return [Math.max(0, lowerBound(times, v.start) - 1), Math.min(times.length, lowerBound(times, v.end) + 1)];
}

/**
 * Reduces per-frame values to one value per pixel column (the maximum: short AU activations stay
 * visible when zoomed out). With `duration`, sample i covers [times[i], times[i] + duration(i)), so
 * zoomed in a frame fills all the columns it is shown for. Columns without a sample are NaN.
 */
export function columnMax(times: ArrayLike<number>, value: (i: number) => number, v: View, width: number, duration?: (i: number) => number): Float32Array {
  const cols = new Float32Array(Math.max(0, Math.floor(width))).fill(NaN);
  const [from, to] = visibleRange(times, v);
  for (let i = from; i < to; i++) {
    const x0 = Math.floor(timeToX(times[i], v, width));
    const x1 = duration ? Math.max(x0 + 1, Math.ceil(timeToX(times[i] + duration(i), v, width) - 1e-6)) : x0 + 1;
    const val = value(i);
    for (let x = Math.max(0, x0); x < Math.min(cols.length, x1); x++) if (Number.isNaN(cols[x]) || val > cols[x]) cols[x] = val;
  }
  return cols;
}

/**
 * How long each of a track's frames is shown: until the next frame of the track when it follows
 * directly, else one typical frame (the track has a gap there).
 */
export function frameDurations(times: ArrayLike<number>, frames: ArrayLike<number>): (i: number) => number {
  const n = times.length;
  const typical = n > 1 ? (times[n - 1] - times[0]) / Math.max(1, frames[n - 1] - frames[0]) : 1 / 30;
  return (i) => (i + 1 < n && frames[i + 1] === frames[i] + 1 ? times[i + 1] - times[i] : typical);
}

/** Frame index (0-based) shown at time t: the last frame starting at or before t. */
export function frameAt(frameTimes: ArrayLike<number>, t: number): number {
  const i = lowerBound(frameTimes, t + 1e-6);
  return Math.max(0, Math.min(frameTimes.length - 1, i - 1));
}

/**
 * Time to seek to for frame k: the middle of its display interval, so rounding in the player never
 * lands on the neighbour.
 */
export function seekTimeOfFrame(frameTimes: ArrayLike<number>, k: number): number {
  const i = Math.max(0, Math.min(frameTimes.length - 1, k));
  const next = i + 1 < frameTimes.length ? frameTimes[i + 1] : frameTimes[i] + (i > 0 ? frameTimes[i] - frameTimes[i - 1] : 1 / 30);
  return (frameTimes[i] + next) / 2;
}
