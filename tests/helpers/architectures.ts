/** Every encoder × framework of the paper, at toy sizes: the matrix the graph and trainer tests run. */
export const ENCODERS = {
  gru: { type: 'gru', layers: 2, hidden: 8 },
  lstm: { type: 'lstm', layers: 2, hidden: 8 },
  transformer: { type: 'transformer', layers: 2, dModel: 8, heads: 2, ff: 16 },
} as const;

export const FRAMEWORKS = {
  basic: { type: 'basic' },
  'share-bottom': { type: 'share-bottom', taskLayers: 1 },
  feedback: { type: 'feedback', taskLayers: 1, embedDim: 4, links: [{ from: ['au'], to: 'expression' }, { from: ['valence', 'au'], to: 'arousal' }] },
} as const;
