/**
 * Temporal-model benchmark: inference frames/s of every architecture × framework, at the paper's
 * sizes and at a laptop size (CPU, one 250-frame segment, one face; and 8 faces batched); then
 * end-to-end `predict` on the clip as a ratio to decode-only speed, with the share of time the
 * temporal stage takes.
 */
import { DEFAULT_FACE_SETTINGS } from '../../electron/engine/features/face-settings.js';
import os from 'node:os';
import path from 'node:path';
import { parseTemporalConfig, stateSpecs } from '../../models/temporal/config.js';
import { initWeights, paramCount } from '../../models/temporal/params.js';
import { buildTemporalGraph } from '../../models/temporal/graph.js';
import { SessionFactory } from '../../electron/engine/onnx/sessions.js';
import { DEFAULT_MAX_GAP_SECONDS, Predictor } from '../../electron/engine/predict/predictor.js';
import { resolveVideoTools } from '../../electron/engine/video/binaries.js';
import { probeVideo } from '../../electron/engine/video/probe.js';
import { VideoDecoder } from '../../electron/engine/video/decode.js';
import { ensureStarterBundle } from '../../models/starter/starter-bundle.js';

/** The paper's feature width (MAE 768 + 2 × IResNet 512 + DenseNet 342) and ours (expression + faceres + landmarks). */
const PAPER_INPUT = 2134;
const OUR_INPUT = 263 + 1024 + 1404;

const sizes = {
  paper: {
    inputDim: PAPER_INPUT,
    gru: { type: 'gru', layers: 2, hidden: 1024 },
    lstm: { type: 'lstm', layers: 2, hidden: 1024 },
    transformer: { type: 'transformer', layers: 4, dModel: 512, heads: 4, ff: 1024 },
  },
  laptop: {
    inputDim: OUR_INPUT,
    gru: { type: 'gru', layers: 2, hidden: 128 },
    lstm: { type: 'lstm', layers: 2, hidden: 128 },
    transformer: { type: 'transformer', layers: 2, dModel: 128, heads: 4, ff: 256 },
  },
} as const;

const frameworks = {
  basic: { type: 'basic' },
  'share-bottom': { type: 'share-bottom', taskLayers: 1 },
  feedback: { type: 'feedback', taskLayers: 1, embedDim: 256, links: [{ from: ['au'], to: 'expression' }, { from: ['valence', 'au'], to: 'arousal' }] },
} as const;

async function segmentFps(config: ReturnType<typeof parseTemporalConfig>, batch: number): Promise<number> {
  const sessions = new SessionFactory({ provider: 'cpu' });
  const s = await sessions.create(buildTemporalGraph(config, initWeights(config, 0)), 'bench');
  const T = config.segmentLength;
  const feeds: Record<string, { data: Float32Array; dims: number[] }> = { features: { data: new Float32Array(batch * T * config.inputDim).fill(0.1), dims: [batch, T, config.inputDim] } };
  for (const st of stateSpecs(config)) {
    const dims = st.dims.map((d) => (d === 'batch' ? batch : d));
    feeds[`state_in.${st.name}`] = { data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims };
  }
  await s.run(feeds);
  const reps = 5;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await s.run(feeds);
  await s.release();
  return (reps * batch * T) / ((performance.now() - t0) / 1000);
}

export async function temporalBench(say: (s: string) => void, clip: string, quick: boolean): Promise<void> {
  say(`\n# Temporal models — CPU (${os.cpus().length} cores), one 250-frame segment\n`);
  say('| size | encoder | framework | parameters | frames/s, 1 face | frames/s, 8 faces batched |');
  say('|---|---|---|---:|---:|---:|');
  for (const [sizeName, size] of Object.entries(sizes)) {
    if (quick && sizeName === 'paper') continue;
    for (const enc of ['gru', 'lstm', 'transformer'] as const) {
      for (const [fwName, fw] of Object.entries(frameworks)) {
        const config = parseTemporalConfig({ inputDim: size.inputDim, encoder: size[enc], framework: fw, heads: { hidden: [512, 256] }, segmentLength: 250 });
        const one = await segmentFps(config, 1);
        const eight = await segmentFps(config, 8);
        say(`| ${sizeName} | ${enc} | ${fwName} | ${(paramCount(config) / 1e6).toFixed(1)} M | ${one.toFixed(0)} | ${eight.toFixed(0)} |`);
      }
    }
  }

  // end to end: predict with the starter bundle, no cache, against decode-only speed
  const tools = resolveVideoTools();
  const info = await probeVideo(clip, tools.ffprobe);
  const decodeFps = async () => {
    const t0 = performance.now();
    let n = 0;
    for await (const _ of new VideoDecoder(info, { ffmpeg: tools.ffmpeg, maxSide: 1280 })) n++;
    return n / ((performance.now() - t0) / 1000);
  };
  const d1 = await decodeFps();
  const predictor = await Predictor.create({ video: { tools, face: DEFAULT_FACE_SETTINGS, cacheDir: false }, bundleDirs: [ensureStarterBundle()], maxGapSeconds: DEFAULT_MAX_GAP_SECONDS });
  const t0 = performance.now();
  const r = await predictor.predict(clip, { workDir: path.join(os.tmpdir(), 'affect-studio-bench', 'predict'), stem: 'bench' }, { begin() {}, write() {} });
  const total = (performance.now() - t0) / 1000;
  const d2 = await decodeFps();
  const base = (d1 + d2) / 2;
  const fps = r.features.frames / total;
  say(`\nEnd-to-end \`predict\` (starter bundle: expression + landmarks extractors, no cache) on ${path.basename(clip)}: ${fps.toFixed(1)} fps = ${(fps / base).toFixed(3)} × decode-only (${base.toFixed(0)} fps).`);
  say(`Temporal stage: ${(r.timings.temporal * 1000).toFixed(0)} ms of ${(total * 1000).toFixed(0)} ms = ${((100 * r.timings.temporal) / total).toFixed(1)}% of end-to-end time (target < 5%).`);
}
