import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { parseTemporalConfig, stateSpecs, type TemporalConfig } from '../../models/temporal/config.js';
import { initWeights, seededRandom } from '../../models/temporal/params.js';
import { buildTemporalGraph } from '../../models/temporal/graph.js';
import { asymmetricBias, ENCODERS, FRAMEWORKS } from '../helpers/architectures.js';
import { TASK_DIMS, TASKS } from '../../common/labels.js';
import { referenceForward } from '../helpers/temporal-reference.js';

const encoders = ENCODERS;
const frameworks = FRAMEWORKS;

const B = 2;
const T = 5;
const D = 6;

function randomFeatures(seed: number, t: number): number[][][] {
  const r = seededRandom(seed);
  return Array.from({ length: B }, () => Array.from({ length: t }, () => Array.from({ length: D }, () => r() * 2 - 1)));
}

/** Runs two consecutive segments through ONNX Runtime, carrying the recurrent state. */
async function onnxTwoSegments(config: TemporalConfig, model: Uint8Array, segs: number[][][][]) {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  const specs = stateSpecs(config);
  let state: Record<string, ort.Tensor> = {};
  for (const s of specs) {
    const dims = s.dims.map((d) => (d === 'batch' ? B : d));
    state[`state_in.${s.name}`] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  }
  const results = [];
  for (const seg of segs) {
    const t = seg[0].length;
    const feats = new ort.Tensor('float32', Float32Array.from(seg.flat(2)), [B, t, D]);
    const out = await session.run({ features: feats, ...state });
    results.push(out);
    state = Object.fromEntries(specs.map((s) => [`state_in.${s.name}`, out[`state_out.${s.name}`]]));
  }
  return results;
}

describe('temporal ONNX graphs match an independent TypeScript reference (random weights)', () => {
  for (const [encName, encoder] of Object.entries(encoders)) {
    for (const [fwName, framework] of Object.entries(frameworks)) {
      it(`${encName} × ${fwName}: outputs${encName.startsWith('transformer') ? '' : ' and state carried across segments'}`, async () => {
        const config = parseTemporalConfig({ inputDim: D, encoder, framework, heads: { hidden: [6, 5] }, segmentLength: 16 });
        const weights = asymmetricBias(initWeights(config, 7), seededRandom(17));
        const model = buildTemporalGraph(config, weights);
        const seg1 = randomFeatures(1, T);
        const seg2 = randomFeatures(2, T - 2); // the last segment of a sequence is shorter
        const [o1, o2] = await onnxTwoSegments(config, model, [seg1, seg2]);

        const r1 = referenceForward(config, weights, seg1);
        const r2 = referenceForward(config, weights, seg2, r1.state);
        let maxDiff = 0;
        for (const [ours, ref, t] of [[o1, r1, T], [o2, r2, T - 2]] as const) {
          for (const task of TASKS) {
            const got = ours[task].data as Float32Array;
            expect(ours[task].dims).toEqual(TASK_DIMS[task] === 1 ? [B, t] : [B, t, TASK_DIMS[task]]);
            const want = (ref.outputs.get(task) as number[][][]).flat(2);
            want.forEach((v, i) => {
              maxDiff = Math.max(maxDiff, Math.abs(got[i] - v));
            });
          }
          for (const [name, layers] of ref.state) {
            const got = ours[`state_out.${name}`].data as Float32Array;
            layers.flat(2).forEach((v, i) => {
              maxDiff = Math.max(maxDiff, Math.abs(got[i] - v));
            });
          }
        }
        expect(maxDiff).toBeLessThanOrEqual(1e-5);
        if (!encName.startsWith('transformer')) {
          // carrying state across a segment boundary equals running the whole sequence at once
          const whole = referenceForward(config, weights, seg1.map((s, i) => [...s, ...seg2[i]]));
          const tail = (whole.outputs.get('valence') as number[][][]).map((s) => s.slice(T).flat());
          const split = Array.from(o2.valence.data as Float32Array);
          expect(Math.max(...tail.flat().map((v, i) => Math.abs(v - split[i])))).toBeLessThanOrEqual(1e-5);
        }
      });
    }
  }

  it('the normalisation baked into the graph is (x − mean) / std', async () => {
    const config = parseTemporalConfig({ inputDim: D, encoder: encoders.gru, heads: { hidden: [4] } });
    const weights = initWeights(config, 3);
    const mean = Float32Array.from({ length: D }, (_, i) => i * 0.1);
    const std = Float32Array.from({ length: D }, (_, i) => 1 + i);
    const seg = randomFeatures(5, T);
    const [withNorm] = await onnxTwoSegments(config, buildTemporalGraph(config, weights, { normalization: { mean, std } }), [seg]);
    const normalised = seg.map((s) => s.map((row) => row.map((v, i) => (v - mean[i]) / std[i])));
    const [plain] = await onnxTwoSegments(config, buildTemporalGraph(config, weights), [normalised]);
    const a = withNorm.au.data as Float32Array;
    const b = plain.au.data as Float32Array;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5);
  });

  it('configurations are validated', () => {
    expect(() => parseTemporalConfig({ inputDim: 4, encoder: { type: 'rnn', layers: 1, hidden: 2 } })).toThrow();
    expect(() => parseTemporalConfig({ inputDim: 4, encoder: encoders.gru, framework: { type: 'feedback', taskLayers: 1, links: [{ from: ['au'], to: 'expression' }, { from: ['expression'], to: 'au' }] } }))
      .toThrow(/cycle/);
    expect(() => parseTemporalConfig({ inputDim: 4, tasks: ['valence'], encoder: encoders.gru, framework: { type: 'feedback', taskLayers: 1, links: [{ from: ['au'], to: 'valence' }] } }))
      .toThrow(/source "au" is not among the tasks/);
  });
});
