/**
 * The starter bundle: valence, arousal, expressions and AUs from the pretrained per-frame networks
 * the features pipeline already runs, written as an ONNX graph with the same contract as the trained
 * temporal models, so it goes through the same runtime, smoothing, ensembling and CSV writing.
 * It is NOT trained on Aff-Wild2; its manifest says so. Rules: ./rules.ts, docs/starter-bundle.md.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { GraphBuilder } from '../onnx/builder.js';
import { AUS, EXPRESSIONS } from '../../common/labels.js';
import { cacheRoot, writeFileAtomic } from '../../common/node/storage.js';
import { BUNDLE_FORMAT, MANIFEST_NAME, type BundleManifest } from '../bundle/manifest.js';
import { AU_LOGIT_AT_BASELINE, AU_LOGIT_SPAN, AU_RULES, BASELINE_CARRY, BASELINE_PERCENTILE, CIRCUMPLEX, EXPRESSION_SOURCE } from './rules.js';

export const STARTER_ID = 'starter';
/** Bump when the rules or the graph change. */
export const STARTER_VERSION = '1.1.0';

const EXPRESSION_DIM = 263; // 256-d embedding + 7 logits (the `expression` extractor)
const EXPRESSION_LOGITS_AT = 256;
const LANDMARKS_DIM = 1404;
const SEGMENT = 250;

export function buildStarterGraph(): Uint8Array {
  const b = new GraphBuilder('starter');
  const D = EXPRESSION_DIM + LANDMARKS_DIM;
  const x = b.input('features', ['batch', 'time', D]);
  const baselineIn = b.input('state_in.baseline', [1, 'batch', AUS.length]);
  const seenIn = b.input('state_in.seen', [1, 'batch', 1]);
  const axes = (...a: number[]) => b.ints('axes', a);

  // Expressions: the CNN's logits in ABAW order, "Other" pinned far below the rest.
  const logits7 = b.op('Slice', [x, b.ints('s', [EXPRESSION_LOGITS_AT]), b.ints('e', [EXPRESSION_LOGITS_AT + 7]), axes(2)]);
  const order = EXPRESSIONS.filter((e) => EXPRESSION_SOURCE[e] !== undefined).map((e) => EXPRESSION_SOURCE[e] as number);
  const reordered = b.op('Gather', [logits7, b.ints('order', order)], { axis: 2 });
  const logits8 = b.op('Pad', [reordered, b.ints('pads', [0, 0, 0, 0, 0, 1]), b.constant('other', new Float32Array([-30]), [])], { mode: 'constant' });
  b.expose(logits8, 'expression', ['batch', 'time', EXPRESSIONS.length]);

  // Valence and arousal: circumplex coordinates weighted by the expression probabilities.
  const coords = new Float32Array(EXPRESSIONS.length * 2);
  EXPRESSIONS.forEach((e, i) => coords.set(CIRCUMPLEX[e], 2 * i));
  const va = b.op('MatMul', [b.op('Softmax', [logits8], { axis: -1 }), b.constant('circumplex', coords, [EXPRESSIONS.length, 2])]);
  const pick = (i: number) => b.op('Squeeze', [b.op('Slice', [va, b.ints('s', [i]), b.ints('e', [i + 1]), axes(2)]), axes(2)]);
  b.expose(pick(0), 'valence', ['batch', 'time']);
  b.expose(pick(1), 'arousal', ['batch', 'time']);

  // AUs: geometric measures, relative to the track's own neutral baseline.
  const landmarks = b.op('Slice', [x, b.ints('s', [EXPRESSION_DIM]), b.ints('e', [D]), axes(2)]);
  const C = new Float32Array(LANDMARKS_DIM * AUS.length);
  AU_RULES.forEach((rule, j) => {
    for (const [point, axis, w] of rule.terms) C[(3 * point + (axis === 'x' ? 0 : 1)) * AUS.length + j] += w;
  });
  const measures = b.op('MatMul', [landmarks, b.constant('au_measures', C, [LANDMARKS_DIM, AUS.length])]); // [B, T, 12]
  // this segment's low percentile of each measure: the k-th smallest over time, k = ⌈p·T⌉
  const T = b.op('Cast', [b.op('Gather', [b.op('Shape', [measures]), b.ints('i', [1])], { axis: 0 })], { to: 1 });
  const k = b.op('Cast', [b.op('Max', [b.op('Ceil', [b.op('Mul', [T, b.constant('p', new Float32Array([BASELINE_PERCENTILE]), [])])]), b.constant('one', new Float32Array([1]), [])])], { to: 7 });
  const smallest = b.opN('TopK', [measures, k], 2, { axis: 1, largest: 0, sorted: 1 })[0];
  const percentile = b.op('ReduceMax', [smallest], { axes: [1], keepdims: 0 }); // [B, 12]
  const prev = b.op('Squeeze', [baselineIn, axes(0)]);
  const seen = b.op('Squeeze', [seenIn, axes(0)]); // [B, 1]: 0 before the first segment
  const blended = b.op('Add', [b.op('Mul', [prev, b.constant('carry', new Float32Array([BASELINE_CARRY]), [])]), b.op('Mul', [percentile, b.constant('fresh', new Float32Array([1 - BASELINE_CARRY]), [])])]);
  const baseline = b.op('Add', [b.op('Mul', [seen, blended]), b.op('Mul', [b.op('Sub', [b.constant('one_', new Float32Array([1]), []), seen]), percentile])]);
  b.expose(b.op('Unsqueeze', [baseline, axes(0)]), 'state_out.baseline', [1, 'batch', AUS.length]);
  b.expose(b.op('Unsqueeze', [b.op('Add', [b.op('Mul', [seen, b.constant('zero', new Float32Array([0]), [])]), b.constant('one__', new Float32Array([1]), [])]), axes(0)]), 'state_out.seen', [1, 'batch', 1]);
  const ranges = Float32Array.from(AU_RULES, (r) => AU_LOGIT_SPAN / r.range);
  const delta = b.op('Sub', [measures, b.op('Unsqueeze', [baseline, axes(1)])]);
  const auLogits = b.op('Add', [b.op('Mul', [delta, b.constant('au_gain', ranges, [AUS.length])]), b.constant('au_offset', new Float32Array([AU_LOGIT_AT_BASELINE]), [])]);
  b.expose(auLogits, 'au', ['batch', 'time', AUS.length]);
  return b.build({ producer: 'affect-studio starter bundle', docString: 'Starter bundle: pretrained per-frame networks mapped onto the ABAW tasks; not trained on Aff-Wild2.' });
}

export function starterManifest(modelSha256: string): BundleManifest {
  return {
    format: BUNDLE_FORMAT,
    id: STARTER_ID,
    version: STARTER_VERSION,
    description: 'Starter bundle: expressions from a FER2013 expression CNN, AUs from landmark geometry, valence/arousal from expressions via the circumplex. Not trained on Aff-Wild2.',
    kind: 'starter',
    labels: { expressions: [...EXPRESSIONS], aus: [...AUS] },
    tasks: ['valence', 'arousal', 'expression', 'au'],
    features: {
      extractors: [
        { id: 'expression', version: '1', dim: EXPRESSION_DIM },
        { id: 'landmarks', version: '1', dim: LANDMARKS_DIM },
      ],
      dim: EXPRESSION_DIM + LANDMARKS_DIM,
      normalization: 'none',
    },
    model: {
      file: 'model.onnx',
      sha256: modelSha256,
      segmentLength: SEGMENT,
      states: [
        { name: 'baseline', dims: [1, 'batch', AUS.length] },
        { name: 'seen', dims: [1, 'batch', 1] },
      ],
    },
    postprocess: { smoothing: { valence: 5, arousal: 5 }, auThresholds: AUS.map(() => 0.5) },
    provenance: {
      summary: 'Rules over pretrained per-frame networks (docs/starter-bundle.md): expression probabilities from the mini-Xception FER2013 CNN with its 7 classes mapped onto ABAW\'s 8 ("Other" never predicted); valence/arousal as the probability-weighted circumplex position of the expressions; each AU from one landmark-geometry measure relative to the face track\'s own neutral baseline (its 20th percentile). A baseline to compare trained models with, not a trained model.',
      trainedOn: 'not trained on Aff-Wild2 (expression CNN: FER2013; landmark model: MediaPipe FaceMesh data)',
      tool: `affect-studio starter ${STARTER_VERSION}`,
    },
  };
}

/** Writes the starter bundle into the cache (once per version) and returns its folder. */
export function ensureStarterBundle(root = path.join(cacheRoot(), 'bundles')): string {
  const model = buildStarterGraph();
  const sha = createHash('sha256').update(model).digest('hex');
  const dir = path.join(root, `${STARTER_ID}-${STARTER_VERSION}-${sha.slice(0, 12)}`);
  if (existsSync(path.join(dir, MANIFEST_NAME))) return dir;
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, 'model.onnx'), model);
  writeFileAtomic(path.join(dir, MANIFEST_NAME), `${JSON.stringify(starterManifest(sha), null, 2)}\n`);
  return dir;
}
