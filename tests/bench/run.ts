#!/usr/bin/env node
/**
 * Benchmarks (`npm run bench`): the pipeline as users run it (speed as a ratio to decode-only
 * speed measured in the same run, memory as videos get longer, each face model alone), the temporal
 * models, training, and sharded batches on a cluster.
 *
 * Every figure is also given as a ratio to decode-only speed measured in the same run, because
 * these machines are shared and absolute numbers drift.
 *
 *   npm run bench                      everything (≈ 1 hour on 2 cores: the 60-minute loops take most)
 *   npm run bench -- --quick           no 60-minute loops, one run per figure, no paper-size models
 *   npm run bench -- --only=pipeline   one part (pipeline | temporal | train | cluster)
 *   npm run bench -- --ep webgpu       the pipeline on another execution provider (webgpu | cuda | …);
 *                                      run.json's per-model providers show any fallback
 *   npm run bench -- --only=train-table [--gru-epochs=6]
 *                                      what each laptop preset learns on the synthetic set in equal
 *                                      time (≈ 30 minutes; not part of the default run)
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXECUTION_PROVIDERS, type ExecutionProviderChoice } from '../../electron/engine/onnx/sessions.js';
import { pipelineBench, providerUsable } from './pipeline-bench.js';
import { temporalBench } from './temporal-bench.js';
import { trainBench } from './train-bench.js';
import { clusterBench } from './cluster-bench.js';
import { trainTable } from './train-table.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const clip = path.resolve(repo, 'samples/WolfgangLanger_Pexels.mp4');
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const epArg = process.argv.indexOf('--ep');
const ep = (epArg > 0 ? process.argv[epArg + 1] : process.argv.find((a) => a.startsWith('--ep='))?.slice(5)) ?? 'cpu';
const work = path.join(os.tmpdir(), 'affect-studio-bench');
mkdirSync(work, { recursive: true });

if (!existsSync(clip)) {
  console.error(`benchmark needs ${clip} (the shared sample clips); it is absent on this machine`);
  process.exit(2);
}
if (!(EXECUTION_PROVIDERS as readonly string[]).includes(ep)) {
  console.error(`--ep ${ep}: choose one of ${EXECUTION_PROVIDERS.join(', ')}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const say = (s: string): void => {
    console.log(s);
    lines.push(s);
  };
  if (!only || only === 'pipeline') {
    const unusable = await providerUsable(ep as ExecutionProviderChoice);
    if (unusable) {
      // said on the terminal only: bench-results/bench.md keeps the last figures measured
      console.error(`--ep ${ep} cannot run on this machine (${unusable}); affect-studio doctor lists what can. Pipeline benchmark skipped.`);
      process.exitCode = 1;
    } else await pipelineBench(say, { clip, work, quick, ep: ep as ExecutionProviderChoice });
  }
  if (!only || only === 'temporal') await temporalBench(say, clip, quick);
  if (!only || only === 'train') await trainBench(say, quick);
  if (!only || only === 'cluster') await clusterBench(say, clip, repo, quick ? 1 : 2);
  if (only === 'train-table') await trainTable(say, { gruEpochs: Number(process.argv.find((a) => a.startsWith('--gru-epochs='))?.slice(13) ?? 6) });
  if (!lines.length) return;
  const outDir = path.join(repo, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'bench.md'), `${lines.join('\n')}\n`);
  console.log(`\nwritten to ${path.join(outDir, 'bench.md')}`);
}

await main();
