/** Colours shared by the tracks, legends and controls, defined once. */

/** The 8 expression classes (ABAW order): the ribbon, the tiers, the legend and the annotation keys. */
export const EXPRESSION_COLOURS = ['#9ca3af', '#dc2626', '#65a30d', '#7c3aed', '#f59e0b', '#2563eb', '#06b6d4', '#78716c'];

/** The run shown, and the run compared with it. */
export const RUN_COLOUR = '#111827';
export const COMPARE_COLOUR = '#9333ea';

/** Head pose angles and gaze angles. */
export const POSE_COLOURS = { pitch: '#0891b2', yaw: '#c2410c', roll: '#4d7c0f' };
export const GAZE_COLOURS = { x: '#be185d', y: '#1d4ed8' };

/** One colour per annotator (by their place among the video's annotators), distinct from the run's. */
const ANNOTATOR_PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#db2777', '#0891b2', '#65a30d', '#7c3aed'];

export function annotatorColour(annotator: string, annotators: string[]): string {
  const i = annotators.indexOf(annotator);
  return ANNOTATOR_PALETTE[(i < 0 ? annotators.length : i) % ANNOTATOR_PALETTE.length];
}

/** AU activation (0–1) → heat-map cell colour. */
export const heat = (p: number): string => `rgba(124, 58, 237, ${Math.max(0.05, Math.min(1, p)).toFixed(3)})`;
