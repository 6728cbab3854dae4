/** Every encoder × framework of the paper, at toy sizes: the matrix the graph and trainer tests run. */
export const ENCODERS = {
  gru: { type: 'gru', layers: 2, hidden: 8 },
  lstm: { type: 'lstm', layers: 2, hidden: 8 },
  transformer: { type: 'transformer', layers: 2, dModel: 8, heads: 2, ff: 16 },
  /** The documented departures from the paper: pre-norm, a relative (locality) bias, no absolute positions. */
  'transformer-local': { type: 'transformer', layers: 2, dModel: 8, heads: 2, ff: 16, norm: 'pre', relativeBias: 3, positions: 'none' },
} as const;

export const FRAMEWORKS = {
  basic: { type: 'basic' },
  'share-bottom': { type: 'share-bottom', taskLayers: 1 },
  feedback: { type: 'feedback', taskLayers: 1, embedDim: 4, links: [{ from: ['au'], to: 'expression' }, { from: ['valence', 'au'], to: 'arousal' }] },
} as const;

/**
 * Random relative-bias tables: their initial decay is symmetric in j − i, and a test must tell
 * j − i from i − j.
 */
export function asymmetricBias(weights: Map<string, Float32Array>, random: () => number): Map<string, Float32Array> {
  for (const [name, w] of weights) if (name.endsWith('.relBias')) for (let i = 0; i < w.length; i++) w[i] = random() * 2 - 1;
  return weights;
}
