/** Colours of the 8 expression classes (ABAW order), shared by the ribbon, the legend and the annotation keys. */
export const EXPRESSION_COLOURS = ['#9ca3af', '#dc2626', '#65a30d', '#7c3aed', '#f59e0b', '#2563eb', '#06b6d4', '#78716c'];
