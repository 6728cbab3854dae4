import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FACE_SETTINGS } from '../../electron/engine/features/face-settings.js';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadBundle } from '../../models/bundle/manifest.js';
import { ensureStarterBundle } from '../../models/starter/starter-bundle.js';
import { AU_RULES } from '../../models/starter/rules.js';
import { AUS, EXPRESSIONS } from '../../common/labels.js';
import { SessionFactory } from '../../electron/engine/onnx/sessions.js';
import { BundleRunner, type FeatureSequence } from '../../electron/engine/temporal/runner.js';
import { DEFAULT_MAX_GAP_SECONDS, Predictor } from '../../electron/engine/predict/predictor.js';
import { UserError } from '../../common/errors.js';
import { freshDir, tools } from '../helpers/fixtures.js';
import { randomGruBundle } from '../helpers/bundles.js';

const D = 263 + 1404;
const seq = (rows: Float32Array[]): FeatureSequence => ({
  length: rows.length,
  read: (start, count) => {
    const out = new Float32Array(count * D);
    for (let i = 0; i < count; i++) out.set(rows[start + i], i * D);
    return out;
  },
});

/** A frame of starter features: expression logits and a mouth of the given width (landmark x of 61 and 291). */
function starterRow(happyLogit: number, mouthWidth: number): Float32Array {
  const row = new Float32Array(D);
  row[256 + 3] = happyLogit; // "happy" in the CNN's order
  row[263 + 3 * 61] = -mouthWidth / 2;
  row[263 + 3 * 291] = mouthWidth / 2;
  return row;
}


describe('the starter bundle', () => {
  let runner: BundleRunner;
  beforeAll(async () => {
    runner = await BundleRunner.open(loadBundle(ensureStarterBundle()), new SessionFactory({ provider: 'cpu' }));
  });

  it('says plainly what it is', () => {
    const m = loadBundle(ensureStarterBundle()).manifest;
    expect(m.kind).toBe('starter');
    expect(m.provenance.trainedOn).toMatch(/not trained on Aff-Wild2/);
    expect(m.features.extractors.map((e) => e.id)).toEqual(['expression', 'landmarks']);
  });

  it('maps the CNN onto the 8 classes (Other never predicted) and V/A onto the circumplex', async () => {
    const [p] = await runner.run([seq([starterRow(20, 1), starterRow(20, 1)])]);
    const probs = Array.from((p.expression as Float32Array).subarray(0, 8));
    expect(probs[EXPRESSIONS.indexOf('Happiness')]).toBeGreaterThan(0.99);
    expect(probs[EXPRESSIONS.indexOf('Other')]).toBeLessThan(1e-9);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect((p.valence as Float32Array)[0]).toBeCloseTo(0.81, 2);
    expect((p.arousal as Float32Array)[0]).toBeCloseTo(0.51, 2);
  });

  it('rates AU12 against the track\'s own baseline, carried across segments', async () => {
    const au12 = AUS.indexOf('AU12');
    const range = AU_RULES[au12].range;
    // 300 frames: 250 at rest (mouth width 1.0), then 50 smiling (width 1.0 + range)
    const rows = [...Array.from({ length: 250 }, () => starterRow(0, 1)), ...Array.from({ length: 50 }, () => starterRow(0, 1 + range))];
    const [p] = await runner.run([seq(rows)]);
    const at = (t: number) => (p.au as Float32Array)[t * 12 + au12];
    expect(at(100)).toBeCloseTo(1 / (1 + Math.exp(2.2)), 3); // at the baseline: 0.10
    // the second segment's own 20th percentile is the smile, but the carried baseline keeps it high
    expect(at(280)).toBeGreaterThan(0.6);
    // without the carried state (a sequence that starts smiling), the smile is its own baseline
    const [fresh] = await runner.run([seq(rows.slice(250))]);
    expect((fresh.au as Float32Array)[10 * 12 + au12]).toBeCloseTo(at(100), 3);
  });
});

describe('bundle validation: clear errors naming the file and the field', () => {
  const broken = (edit: (m: Record<string, unknown>) => void): string => {
    const dir = randomGruBundle(freshDir('bundle'));
    const file = path.join(dir, 'bundle.json');
    const m = JSON.parse(readFileSync(file, 'utf8'));
    edit(m);
    writeFileSync(file, JSON.stringify(m));
    return dir;
  };

  it.each([
    ['features.dim', (m: Record<string, any>) => { m.features.dim = 100; }, /field "features.dim" is 100 but the extractors' dims add up to 1404/],
    ['model.file', (m: Record<string, any>) => { m.model.file = 'gone.onnx'; }, /field "model.file": gone.onnx is missing/],
    ['model.sha256', (m: Record<string, any>) => { m.model.sha256 = '0'.repeat(64); }, /field "model.sha256" does not match/],
    ['tasks', (m: Record<string, any>) => { m.tasks = ['valence', 'mood']; }, /field "tasks.1"/],
    ['segmentLength', (m: Record<string, any>) => { delete m.model.segmentLength; }, /field "model.segmentLength"/],
    ['labels', (m: Record<string, any>) => { m.labels.expressions = m.labels.expressions.slice(0, 7); }, /field "labels": 7 expressions/],
  ])('%s', (_, edit, pattern) => {
    const dir = broken(edit);
    expect(() => loadBundle(dir)).toThrow(pattern);
    try {
      loadBundle(dir);
    } catch (err) {
      expect((err as { file: string }).file).toBe(path.join(dir, 'bundle.json'));
    }
  });

  it('a manifest that lies about the feature width is caught by a dry run', async () => {
    const dir = randomGruBundle(freshDir('bundle'));
    const file = path.join(dir, 'bundle.json');
    const m = JSON.parse(readFileSync(file, 'utf8'));
    m.features.extractors[0].dim = 1400;
    m.features.dim = 1400;
    writeFileSync(file, JSON.stringify(m));
    const err = await BundleRunner.open(loadBundle(dir), new SessionFactory({ provider: 'cpu' })).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).describe()).toMatch(/bundle\.json: the model does not accept the input the manifest describes \(features\.dim 1400\)/);
  });

  it('a missing bundle.json, and unreadable JSON', () => {
    const dir = randomGruBundle(freshDir('bundle'));
    writeFileSync(path.join(dir, 'bundle.json'), '{ nope');
    expect(() => loadBundle(dir)).toThrow(/cannot be read as JSON/);
    rmSync(path.join(dir, 'bundle.json'));
    expect(() => loadBundle(dir)).toThrow(/no bundle\.json/);
  });
});

describe('ensembles and features', () => {
  it('refuses to ensemble bundles with different label schemas', async () => {
    const odd = randomGruBundle(freshDir('bundle'));
    const file = path.join(odd, 'bundle.json');
    const m = JSON.parse(readFileSync(file, 'utf8'));
    m.labels.aus = [...m.labels.aus.slice(0, 11), 'AU45'];
    writeFileSync(file, JSON.stringify(m));
    const err = await Predictor.create({ provider: 'cpu', video: { tools, face: DEFAULT_FACE_SETTINGS, cacheDir: false }, maxGapSeconds: DEFAULT_MAX_GAP_SECONDS, bundleDirs: [ensureStarterBundle(), odd] }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).describe()).toMatch(/cannot ensemble starter and test-gru: their label schemas differ.*ensemble only bundles with the same labels/);
  });

  it('refuses features of another width than the bundle was made for', async () => {
    const dir = randomGruBundle(freshDir('bundle'), [{ id: 'landmarks', version: '1', dim: 1400 }]);
    const err = await Predictor.create({ provider: 'cpu', video: { tools, face: DEFAULT_FACE_SETTINGS, cacheDir: false }, maxGapSeconds: DEFAULT_MAX_GAP_SECONDS, bundleDirs: [dir] }).then(() => undefined, (e: unknown) => e);
    expect((err as UserError).describe()).toMatch(/needs features "landmarks" version 1 \(1400 values\); this installation's extractor is version 1 \(1404 values\)/);
  });
});
