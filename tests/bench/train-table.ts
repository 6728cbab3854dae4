/**
 * `npm run bench -- --only=train-table`: what each laptop preset (encoder × framework) learns on the
 * synthetic learning-proof set (tests/helpers/synthetic.ts: 24 training and 8 validation videos in
 * the s-Aff-Wild2 layout, batches of 2) within the same wall-clock budget — the time laptop-gru
 * takes for `--gru-epochs` epochs (default 6), measured in this run. Every preset's epoch is timed
 * first (one-epoch runs, interleaved, median of two), and gets as many epochs as fit in the budget.
 * Figures are the validation metrics of each run's best epoch (P_MTL), unsmoothed; the AU F1 at
 * thresholds tuned on validation is beside the 0.5 figure. The table goes into docs/training.md.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findPreset, type TrainConfig, temporalConfig } from '../../models/train/config.js';
import { loadPrecomputed } from '../../models/train/dataset.js';
import { trainModel, type EpochRecord } from '../../models/train/trainer.js';
import { tfReady } from '../../models/train/tf.js';
import { writeSyntheticSet } from '../helpers/synthetic.js';
import { constantBaseline } from '../helpers/baselines.js';

const ENCODERS = ['gru', 'lstm', 'transformer'];
const FRAMEWORKS: [suffix: string, name: string][] = [['', 'basic'], ['-sharebottom', 'share-bottom'], ['-feedback', 'feedback']];

export async function trainTable(say: (s: string) => void, o: { gruEpochs: number }): Promise<void> {
  await tfReady();
  const work = mkdtempSync(path.join(os.tmpdir(), 'train-table-'));
  const set = writeSyntheticSet(path.join(work, 'data'));
  const train = loadPrecomputed(set.train, [set.features]);
  const val = loadPrecomputed(set.val, [set.features]);
  let runs = 0;
  const run = async (config: TrainConfig): Promise<{ best: EpochRecord; seconds: number }> => {
    const t0 = performance.now();
    const r = await trainModel({ outDir: path.join(work, `run-${runs++}`), train: train.sequences, val: val.sequences, dim: train.dim, config, temporal: temporalConfig(config, train.dim) });
    const best = r.history.find((h) => h.epoch === r.bestEpoch) ?? r.history[r.history.length - 1];
    return { best, seconds: (performance.now() - t0) / 1000 };
  };
  const presets = ENCODERS.flatMap((e) => FRAMEWORKS.map(([suffix, framework]) => ({ name: `laptop-${e}${suffix}`, framework })));
  const config = (name: string, epochs: number): TrainConfig => ({ ...findPreset(name).config, epochs, batchSize: 2 });

  // seconds per epoch, interleaved so that drifting load on a shared machine hits every preset alike
  const perEpoch = new Map<string, number[]>();
  for (let rep = 0; rep < 2; rep++) {
    for (const p of presets) perEpoch.set(p.name, [...(perEpoch.get(p.name) ?? []), (await run(config(p.name, 1))).seconds]);
  }
  const epochSeconds = (name: string) => Math.min(...(perEpoch.get(name) as number[]));
  const budget = o.gruEpochs * epochSeconds('laptop-gru');

  const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  const c = constantBaseline(train.sequences, val.sequences);
  say(`\n# Training on the synthetic learning-proof set — every laptop preset within the time of ${o.gruEpochs} laptop-gru epochs (batches of 2)\n`);
  say('| preset | framework | epochs | time ÷ laptop-gru | P_MTL | CCC_V | CCC_A | F1_expr | F1_AU | F1_AU tuned |');
  say('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  say(`| constant (train means, majority class, every AU present) | — | — | — | ${f3(c.pMtl)} | ${f3(c.cccValence)} | ${f3(c.cccArousal)} | ${f3(c.f1Expression)} | ${f3(c.f1Au)} | — |`);
  let gruSeconds = NaN;
  for (const p of presets) {
    const epochs = Math.max(1, Math.round(budget / epochSeconds(p.name)));
    const { best: b, seconds } = await run(config(p.name, epochs));
    if (p.name === 'laptop-gru') gruSeconds = seconds;
    say(`| ${p.name} | ${p.framework} | ${epochs} | ${(seconds / gruSeconds).toFixed(2)} | ${f3(b.pMtl)} | ${f3(b.cccValence)} | ${f3(b.cccArousal)} | ${f3(b.f1Expression)} | ${f3(b.f1Au)} | ${f3(b.f1AuTuned)} |`);
  }
}
