import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NpyWriter, readNpyHeader, readNpyRows } from '../../models/data/npy.js';
import { loadAnyBundle, loadBundle } from '../../models/bundle/manifest.js';
import { AUS, EXPRESSIONS, TASKS } from '../../common/labels.js';
import { decodeWeights } from '../../models/train/checkpoint.js';
import { loadPrecomputed } from '../../models/train/dataset.js';
import { TrainableModel } from '../../models/train/network.js';
import { normalise, trainStatistics } from '../../models/train/normalisation.js';
import { tfReady } from '../../models/train/tf.js';
import { predictSequences } from '../../models/train/validation.js';
import { smooth } from '../../models/temporal/smoothing.js';
import type { TemporalConfig } from '../../models/temporal/config.js';
import { checkMemory, findPreset, listPresets } from '../../models/train/config.js';
import { CLI, runCli } from '../helpers/cli.js';
import { freshDir, sampleVideo, tools } from '../helpers/fixtures.js';
import { writeSyntheticSet } from '../helpers/synthetic.js';

const small = (root: string) => writeSyntheticSet(root, { trainVideos: 6, valVideos: 2, frames: 120, seed: 7 });

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** Rows (0-based) of a video's features become NaN (no face there), and their frames leave the annotation files. */
function withoutFace(d: ReturnType<typeof small>, video: string, rows: number[]): void {
  const file = path.join(d.features, `${video}.npy`);
  const h = readNpyHeader(file);
  const all = readNpyRows(file, h, 0, h.rows);
  const w = new NpyWriter(file, h.cols);
  for (let r = 0; r < h.rows; r++) w.append(rows.includes(r) ? new Float32Array(h.cols).fill(NaN) : all.subarray(r * h.cols, (r + 1) * h.cols));
  w.close();
  const gone = new Set(rows.map((r) => `${video}/${String(r + 1).padStart(5, '0')}.jpg`));
  for (const ann of [d.train, d.val]) writeFileSync(ann, readFileSync(ann, 'utf8').split('\n').filter((l) => !gone.has(l.split(',')[0])).join('\n'));
}

/** A native prediction CSV as rows of named cells. */
function readCsv(file: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const names = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], v])));
}

describe('affect-studio train', () => {
  it('lists the presets by encoder and size', async () => {
    const r = await runCli(['train', '--list-presets']);
    expect(r.code).toBe(0);
    for (const name of ['paper-gru', 'paper-lstm', 'paper-transformer', 'laptop-gru', 'laptop-lstm', 'laptop-transformer', 'paper-gru-feedback', 'laptop-lstm-sharebottom']) {
      expect(r.stdout).toMatch(new RegExp(`^${name} `, 'm'));
    }
    expect(listPresets().length).toBeGreaterThanOrEqual(18);
  });

  for (const preset of ['laptop-gru', 'laptop-transformer']) {
    it(`${preset}: trained on sparse labels, the trainer and predict --features give the same per-frame outputs, and eval scores them as the bundle recorded`, async () => {
      // listed frames skip some frames (as in s-Aff-Wild2), and some frames have no face (NaN rows):
      // a 40-frame absence (longer than the 1 s max gap at 30 fps: a new sequence) and a 1-frame one (bridged)
      const data = small(freshDir('data'));
      for (const video of ['train-video-1', 'val-video-0']) withoutFace(data, video, [...range(40, 80), 100]);
      const out = freshDir('run');
      const r = await runCli(['train', '--preset', preset, '--data', data.root, '--epochs', '2', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/epoch 2\/2 .* P_MTL/);
      expect(r.stderr).toMatch(/ONNX vs trainer on held-out inputs: max abs diff \d/);
      // every row of the features files is in a sequence, not only the listed frames
      expect(r.stderr).toMatch(/train 6 videos \/ 679 frames \(7 sequences\)/);
      const metrics = readFileSync(path.join(out, 'metrics.csv'), 'utf8').trim().split('\n');
      expect(metrics[0]).toMatch(/^epoch,loss,.*val_f1_au,val_f1_au_tuned,val_p_mtl/);
      expect(metrics).toHaveLength(3);
      const b = loadBundle(path.join(out, 'bundle'));
      expect(b.manifest).toMatchObject({ kind: 'temporal', id: preset, features: { dim: 16 }, provenance: { preset, seed: 0, epochs: 2, selection: 'overall' } });
      expect(b.manifest.provenance.validation?.P_MTL).toBeGreaterThan(0);
      expect(b.manifest.postprocess.auThresholds).toHaveLength(12);

      const pred = freshDir('pred');
      const p = await runCli(['predict', '--features', data.features, '--bundle', path.join(out, 'bundle'), '--out', pred]);
      expect(p.code, p.stderr).toBe(0);
      const csv = readCsv(path.join(pred, 'val-video-0.csv'));
      expect(csv).toHaveLength(120);

      // the trainer's own predictions on the validation set (its grid, its normalisation, the bundle's smoothing)
      await tfReady();
      const train = loadPrecomputed(data.train, [data.features]);
      const val = loadPrecomputed(data.val, [data.features]);
      const config = findPreset(preset).config;
      const model = new TrainableModel(b.manifest.model.config as TemporalConfig, decodeWeights(readFileSync(path.join(out, 'best.bin'))));
      const valN = normalise(val.sequences, val.dim, config.normalization, config.normalization === 'train' ? trainStatistics(train.sequences, train.dim) : undefined);
      const ours = predictSequences(model, valN, val.dim);
      model.dispose();
      const { valence: wv, arousal: wa } = b.manifest.postprocess.smoothing;
      const seqs = val.sequences.map((s, i) => ({ s, p: ours[i] })).filter(({ s }) => s.video === 'val-video-0');
      expect(seqs).toHaveLength(2);
      let compared = 0;
      let maxDiff = 0;
      for (const { s, p } of seqs) {
        const v = smooth(p.v, wv);
        const a = smooth(p.a, wa);
        s.frames.forEach((frame, t) => {
          const row = csv[frame - 1];
          expect(row.success).toBe('1');
          const theirs = [row.valence, row.arousal, ...EXPRESSIONS.map((e) => row[e]), ...AUS.map((u) => row[u])].map(Number);
          const mine = [v[t], a[t], ...p.e.subarray(t * 8, t * 8 + 8), ...p.au.subarray(t * 12, t * 12 + 12)];
          mine.forEach((x, k) => (maxDiff = Math.max(maxDiff, Math.abs(x - theirs[k]))));
          compared++;
        });
      }
      // every frame with a face, listed or not, and nothing else (the CSV has 4 decimals)
      expect(compared).toBe(120 - 41);
      expect(csv.filter((row) => row.success === '0').map((row) => Number(row.frame))).toEqual([...range(41, 81), 101]);
      expect(maxDiff).toBeLessThan(1e-4);

      const e = await runCli(['eval', '--pred', pred, '--labels', data.val, '--json']);
      expect(e.code).toBe(0);
      // one evaluator: `eval` on the bundle's own output gives the validation figures it recorded
      // (up to the CSV's 4 decimals)
      const report = JSON.parse(e.stdout) as { pMtl: number; pMtlTunedAu: number; cccValence: number; f1Au: number };
      const recorded = b.manifest.provenance.validation as Record<string, number>;
      expect(report.pMtl).toBeGreaterThan(0);
      expect(Math.abs(report.pMtl - recorded.P_MTL)).toBeLessThan(2e-3);
      expect(Math.abs(report.cccValence - recorded.CCC_V)).toBeLessThan(1e-3);
      expect(Math.abs(report.f1Au - recorded.F1_AU)).toBeLessThan(2e-3);
      expect(Math.abs(report.pMtlTunedAu - recorded.P_MTL_tuned_AU)).toBeLessThan(2e-3);
    });
  }

  it('--select per-task: each task from its own best epoch, as an ensemble bundle that predict runs and eval scores as recorded', async () => {
    const data = small(freshDir('data'));
    const out = freshDir('run');
    const config = path.join(out, 'tiny.json');
    // a small GRU whose tasks peak at different epochs (written out: a preset may change)
    writeFileSync(config, JSON.stringify({ model: { encoder: { type: 'gru', layers: 1, hidden: 16 }, heads: { hidden: [16] } }, batchSize: 2, learningRate: 1e-3, beta1: 0.9 }));
    const r = await runCli(['train', '--config', config, '--data', data.root, '--epochs', '5', '--out', out, '--id', 'tiny', '--select', 'per-task']);
    expect(r.code, r.stderr).toBe(0);
    const b = loadAnyBundle(path.join(out, 'bundle'));
    expect(b.manifest).toMatchObject({ kind: 'ensemble', id: 'tiny', provenance: { selection: 'per-task' } });
    const recorded = b.manifest.provenance.validation as Record<string, number>;
    if (!('members' in b)) throw new Error('not an ensemble');
    // one member per distinct best epoch, each answering for the tasks whose best epoch it is
    const epochs = new Set(TASKS.map((t) => recorded[`best_epoch_${t}`]));
    expect(epochs.size).toBeGreaterThan(1);
    expect(b.members).toHaveLength(epochs.size);
    for (const m of b.members) {
      const epoch = Number(/members\/e(\d+)-/.exec(path.relative(b.dir, m.bundle.dir))?.[1]);
      expect(m.bundle.manifest.tasks.map((t) => recorded[`best_epoch_${t}`])).toEqual(m.bundle.manifest.tasks.map(() => epoch));
    }
    expect(b.members.flatMap((m) => m.bundle.manifest.tasks).sort()).toEqual([...TASKS].sort());

    const pred = freshDir('pred');
    const p = await runCli(['predict', '--features', data.features, '--bundle', path.join(out, 'bundle'), '--out', pred]);
    expect(p.code, p.stderr).toBe(0);
    const e = await runCli(['eval', '--pred', pred, '--labels', data.val, '--json']);
    const report = JSON.parse(e.stdout) as { pMtl: number; cccArousal: number; f1Expression: number };
    expect(Math.abs(report.pMtl - recorded.P_MTL)).toBeLessThan(2e-3);
    expect(Math.abs(report.cccArousal - recorded.CCC_A)).toBeLessThan(1e-3);
    expect(Math.abs(report.f1Expression - recorded.F1_expression)).toBeLessThan(1e-3);

    // the finished run, exported again the other way: no training, the overall best epoch
    const again = await runCli(['train', '--config', config, '--data', data.root, '--epochs', '5', '--out', out, '--id', 'tiny']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/epoch \d\/5 step/);
    const overall = loadAnyBundle(path.join(out, 'bundle'));
    expect(overall.manifest).toMatchObject({ kind: 'temporal', provenance: { selection: 'overall' } });
    expect(existsSync(path.join(out, 'bundle', 'members'))).toBe(false);
  });

  it('reads the Aff-Wild2 per-task layout (VA / EXPR / AU folders) as well', async () => {
    const { toPerTaskLayout } = await import('../helpers/synthetic.js');
    const { cpSync } = await import('node:fs');
    const data = small(freshDir('data'));
    const root = freshDir('pertask');
    toPerTaskLayout(data, root);
    cpSync(data.features, path.join(root, 'features'), { recursive: true });
    const out = freshDir('run');
    const r = await runCli(['train', '--preset', 'laptop-gru', '--data', root, '--epochs', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/loading VA_Estimation_Challenge\/Train_Set, EXPR_Recognition_Challenge\/Train_Set, AU_Detection_Challenge\/Train_Set/);
    // every line of a per-task file is a row (up to the last labelled frame): more rows than the multi-task file lists
    expect(Number(/train 6 videos \/ (\d+) frames/.exec(r.stderr)?.[1])).toBeGreaterThan(700);
    expect(loadBundle(path.join(out, 'bundle')).manifest.provenance.validation?.P_MTL).toBeGreaterThan(0);
  });

  it('a killed run resumes from its last epoch and still produces a valid bundle', async () => {
    const data = small(freshDir('data'));
    const out = freshDir('run');
    const child = spawn(process.execPath, [CLI, 'train', '--preset', 'laptop-gru', '--data', data.root, '--epochs', '4', '--out', out]);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const m = existsSync(path.join(out, 'metrics.csv')) ? readFileSync(path.join(out, 'metrics.csv'), 'utf8').trim().split('\n') : [];
        if (m.length >= 3 && existsSync(path.join(out, 'checkpoint', 'state.json')) && JSON.parse(readFileSync(path.join(out, 'checkpoint', 'state.json'), 'utf8')).epoch >= 2) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 50);
      child.on('exit', () => {
        clearInterval(timer);
        resolve();
      });
    });
    expect(existsSync(path.join(out, 'bundle', 'bundle.json'))).toBe(false);
    const again = await runCli(['train', '--preset', 'laptop-gru', '--data', data.root, '--epochs', '4', '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming laptop-gru/);
    expect(again.stderr).not.toMatch(/epoch 1\/4/);
    const epochs = readFileSync(path.join(out, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]));
    expect(epochs.slice(-2)).toEqual([3, 4]);
    expect(loadBundle(path.join(out, 'bundle')).manifest.provenance.epochs).toBe(4);
  });

  const bad = async (edit: (d: ReturnType<typeof small>) => void, pattern: RegExp) => {
    const data = small(freshDir('data'));
    edit(data);
    const r = await runCli(['train', '--preset', 'laptop-gru', '--data', data.root, '--epochs', '1', '--out', freshDir('run')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
  };

  it('an annotation row with a wrong field count: file and line', () =>
    bad((d) => writeFileSync(d.train, `${readFileSync(d.train, 'utf8').trim()}\ntrain-video-0/00200.jpg,0.1,0.2,3\n`), /training_set_annotations\.txt: line \d+: 4 fields, expected 16/));

  it('labels that are all missing (−5 / −1): refused before training, naming the tasks, no bundle written', async () => {
    const data = small(freshDir('data'));
    const lines = readFileSync(data.train, 'utf8').trim().split('\n');
    writeFileSync(data.train, `${[lines[0], ...lines.slice(1).map((l) => `${l.split(',')[0]},-5,-5,-1,${Array(12).fill(-1).join(',')}`)].join('\n')}\n`);
    const out = freshDir('run');
    const r = await runCli(['train', '--preset', 'laptop-gru', '--data', data.root, '--epochs', '1', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no usable labels: none of valence, arousal, expression, au has a valid label/);
    expect(existsSync(path.join(out, 'bundle'))).toBe(false);
  });

  it('a label out of range: file and line', () =>
    bad((d) => writeFileSync(d.train, readFileSync(d.train, 'utf8').replace(/\n(train-video-0\/\d+\.jpg),[^,]+,/, '\n$1,7.5,')), /line 2: valence 7\.5 is outside \[-1, 1\]/));

  it('a video listed but missing its features', () =>
    bad((d) => writeFileSync(d.train, `${readFileSync(d.train, 'utf8').trim()}\nghost-video/00001.jpg,0.1,0.2,3,${Array(12).fill(0).join(',')}\n`), /ghost-video\.npy: video "ghost-video" is listed .* but has no features file/));

  it('features of the wrong width', () =>
    bad((d) => {
      const w = new NpyWriter(path.join(d.features, 'train-video-3.npy'), 9);
      for (let i = 0; i < 120; i++) w.append(new Float32Array(9));
      w.close();
    }, /train-video-3\.npy: has 9 features per frame, the other videos in this folder have 16/));

  it('NaN in a labelled frame', () =>
    bad((d) => {
      const w = new NpyWriter(path.join(d.features, 'train-video-2.npy'), 16);
      for (let i = 0; i < 120; i++) w.append(i === 5 ? Float32Array.from({ length: 16 }, () => NaN) : new Float32Array(16));
      w.close();
    }, /train-video-2\.npy: frame 6 \(row 5\) has a NaN value/));

  it('a configuration too large for memory is refused before anything starts', async () => {
    expect(() => checkMemory({ ...findPreset('paper-gru').config, batchSize: 256 }, 2134)).toThrow(/needs about \d+\.\d GiB to train/);
    expect(() => checkMemory(findPreset('paper-gru').config, 2134)).not.toThrow();
    const r = await runCli(['train', '--preset', 'paper-lstm', '--batch-size', '512', '--data', small(freshDir('data')).root, '--out', freshDir('run')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/GiB available to the WebAssembly backend — lower the hidden size, --batch-size or the segment length/);
  });
});

describe('affect-studio ensemble', () => {
  it('chooses members on validation, never worse than the best single one, and predict runs the result', async () => {
    const data = small(freshDir('data'));
    const runs = [freshDir('run'), freshDir('run'), freshDir('run')];
    for (const [i, args] of [['--preset', 'laptop-gru', '--seed', '1'], ['--preset', 'laptop-gru', '--seed', '2'], ['--preset', 'laptop-transformer']].entries()) {
      const r = await runCli(['train', ...args, '--data', data.root, '--epochs', '2', '--out', runs[i], '--id', `m${i}`]);
      expect(r.code, r.stderr).toBe(0);
    }
    const out = path.join(freshDir('ens'), 'bundle');
    const e = await runCli(['ensemble', ...runs.map((r) => path.join(r, 'bundle')), '--val', data.val, '--features', data.features, '--out', out]);
    expect(e.code, e.stderr).toBe(0);
    const singles = [...e.stderr.matchAll(/alone: P_MTL (\d\.\d+)/g)].map((m) => Number(m[1]));
    const ensemble = Number(/ensemble P_MTL (\d\.\d+)/.exec(e.stderr)?.[1]);
    expect(ensemble).toBeGreaterThanOrEqual(Math.max(...singles));
    const { loadAnyBundle } = await import('../../models/bundle/manifest.js');
    const b = loadAnyBundle(out);
    expect(b.manifest.kind).toBe('ensemble');
    expect('members' in b && b.members.length).toBeGreaterThanOrEqual(1);

    const pred = freshDir('pred');
    const p = await runCli(['predict', '--features', data.features, '--bundle', out, '--out', pred]);
    expect(p.code, p.stderr).toBe(0);
    const run = JSON.parse(readFileSync(path.join(pred, 'run.json'), 'utf8'));
    expect(run.bundles.length).toBe('members' in b ? b.members.length : 1);
    expect(run.auThresholds).toEqual(b.manifest.postprocess.auThresholds);
  });
});

describe('s-Aff-Wild2 cropped_aligned images', () => {
  it('computes features from the aligned images with the built-in extractors, trains, and the bundle runs on videos', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdirSync } = await import('node:fs');
    const root = freshDir('saffwild');
    // aligned-looking face crops of the acted clip, as s-Aff-Wild2 ships them (112 × 112 JPEGs)
    const clips = { sad: [1, 60], smile: [300, 360], mixed: [150, 210] } as const;
    for (const [name, [from, to]] of Object.entries(clips)) {
      mkdirSync(path.join(root, 'cropped_aligned', name), { recursive: true });
      execFileSync(tools.ffmpeg, ['-v', 'error', '-i', sampleVideo('WolfgangLanger_Pexels.mp4'), '-vf', `select='between(n\\,${from - 1}\\,${to - 1})',crop=260:260:310:80,scale=112:112`, '-vsync', 'vfr', '-q:v', '3', path.join(root, 'cropped_aligned', name, '%05d.jpg')]);
    }
    const au = (on: number) => [0, 0, 0, 0, 0, 0, on, 0, 0, 0, 0, 0].join(',');
    const rows = (name: string, n: number, v: number, e: number, a12: number) => Array.from({ length: n }, (_, i) => `${name}/${String(i + 1).padStart(5, '0')}.jpg,${v},0.2,${e},${au(a12)}`);
    writeFileSync(path.join(root, 'training_set_annotations.txt'), ['image,valence,arousal,expression,aus', ...rows('sad', 60, -0.5, 5, 0), ...rows('smile', 61, 0.7, 4, 1)].join('\n'));
    writeFileSync(path.join(root, 'validation_set_annotations.txt'), ['image,valence,arousal,expression,aus', ...rows('mixed', 61, 0.1, 0, 0)].join('\n'));
    const out = freshDir('run');
    const env = { AFFECT_STUDIO_CACHE: freshDir('cache') };
    const r = await runCli(['train', '--preset', 'laptop-gru', '--data', root, '--epochs', '2', '--out', out, '--extractors', 'expression,landmarks'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/computing features of 3 videos' aligned images/);
    expect(r.stderr).toMatch(/input 1667/);
    const b = loadBundle(path.join(out, 'bundle'));
    expect(b.manifest.features.extractors.map((e) => `${e.id}@${e.version}`)).toEqual(['expression@1', 'landmarks@1']);
    // the second run finds the features in the cache
    expect(r.stderr).toMatch(/ sad: 60\/60 images/);
    const again = await runCli(['train', '--preset', 'laptop-gru', '--data', root, '--epochs', '1', '--out', freshDir('run'), '--extractors', 'expression,landmarks'], env);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/\d+\/\d+ images/);
    // trained on built-in features: it runs on videos
    const pred = freshDir('pred');
    const p = await runCli(['predict', sampleVideo('single_face.mp4'), '--bundle', path.join(out, 'bundle'), '--out', pred], env);
    expect(p.code, p.stderr).toBe(0);
    expect(readFileSync(path.join(pred, 'single_face.csv'), 'utf8').trim().split('\n')).toHaveLength(73);
  });
});
