/** Model bundles for tests: real ONNX graphs of the temporal architectures, with random weights. */
import { writeTemporalBundle } from '../../models/bundle/write.js';
import { parseTemporalConfig } from '../../models/temporal/config.js';
import { initWeights } from '../../models/temporal/params.js';

export function randomGruBundle(dir: string, extractors = [{ id: 'landmarks', version: '1', dim: 1404 }]): string {
  const dim = extractors.reduce((a, e) => a + e.dim, 0);
  const config = parseTemporalConfig({ inputDim: dim, encoder: { type: 'gru', layers: 2, hidden: 16 }, heads: { hidden: [16] }, segmentLength: 50 });
  return writeTemporalBundle(dir, {
    id: 'test-gru', version: '0.0.1', description: 'random weights, for tests', config, weights: initWeights(config, 1), extractors,
    normalization: { type: 'per-sequence' }, smoothing: { valence: 2, arousal: 2 },
    provenance: { summary: 'untrained: random weights', trainedOn: 'nothing' },
  });
}
