/**
 * Writes a temporal model bundle: the ONNX graph of a configuration with its weights, and the
 * manifest that describes it. Used by training export and by anyone packaging weights.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { AUS, EXPRESSIONS } from '../../common/labels.js';
import { writeFileAtomic } from '../../common/node/storage.js';
import { stateSpecs, type TemporalConfig } from '../temporal/config.js';
import { buildTemporalGraph } from '../temporal/graph.js';
import type { Weights } from '../temporal/params.js';
import { BUNDLE_FORMAT, MANIFEST_NAME, type BundleManifest } from './manifest.js';

export interface TemporalBundleSpec {
  id: string;
  version: string;
  description: string;
  config: TemporalConfig;
  /** The outputs the runtime reads (default: all the configuration's tasks; the graph computes those regardless). */
  tasks?: TemporalConfig['tasks'];
  weights: Weights;
  extractors: { id: string; version: string; dim: number; manifest?: string }[];
  normalization: { type: 'in-graph'; mean: Float32Array; std: Float32Array } | { type: 'per-sequence' } | { type: 'none' };
  smoothing?: { valence: number; arousal: number };
  auThresholds?: number[];
  provenance: BundleManifest['provenance'];
}

export function writeTemporalBundle(dir: string, spec: TemporalBundleSpec): string {
  const dim = spec.extractors.reduce((a, e) => a + e.dim, 0);
  if (spec.tasks?.some((t) => !spec.config.tasks.includes(t))) throw new Error(`tasks ${spec.tasks.join(', ')} are not all among the model's ${spec.config.tasks.join(', ')}`);
  if (dim !== spec.config.inputDim) throw new Error(`extractors give ${dim} features, the model takes ${spec.config.inputDim}`);
  const model = buildTemporalGraph(spec.config, spec.weights, {
    name: spec.id,
    normalization: spec.normalization.type === 'in-graph' ? spec.normalization : undefined,
    docString: spec.description,
  });
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    id: spec.id,
    version: spec.version,
    description: spec.description,
    kind: 'temporal',
    labels: { expressions: [...EXPRESSIONS], aus: [...AUS] },
    tasks: spec.tasks ?? spec.config.tasks,
    features: { extractors: spec.extractors, dim, normalization: spec.normalization.type },
    model: {
      file: 'model.onnx',
      sha256: createHash('sha256').update(model).digest('hex'),
      segmentLength: spec.config.segmentLength,
      states: stateSpecs(spec.config),
      config: spec.config,
    },
    postprocess: { smoothing: spec.smoothing ?? { valence: 0, arousal: 0 }, auThresholds: spec.auThresholds ?? AUS.map(() => 0.5) },
    provenance: spec.provenance,
  };
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, 'model.onnx'), model);
  writeFileAtomic(path.join(dir, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}
