import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { NATIVE_COLUMNS } from '../../electron/engine/export/columns.js';
import { ccc } from '../../common/metrics.js';
import { readLabels } from '../../models/data/abaw-labels.js';
import { AUS, EXPRESSIONS } from '../../common/labels.js';
import { runCli } from '../helpers/cli.js';
import { freshDir } from '../helpers/fixtures.js';

const none = AUS.map(() => -1).join(',');
const only = (au1: number) => [au1, ...AUS.slice(1).map(() => 0)].join(',');

function writePredictions(dir: string, video: string, frames: { frame: number; v: number; a: number; expr: string; au1: number }[]): void {
  const rows = frames.map((f) => [
    f.frame, (f.frame - 1) / 30, 0, 0.99, 1, f.v, f.a, f.expr,
    ...EXPRESSIONS.map((e) => (e === f.expr ? 0.9 : 0.1 / 7)),
    ...AUS.map((a) => (a === 'AU1' ? f.au1 : 0.1)),
    ...NATIVE_COLUMNS.slice(8 + EXPRESSIONS.length + AUS.length).map(() => ''), // head pose and gaze: not scored
  ]);
  writeFileSync(path.join(dir, `${video}.csv`), stringify([[...NATIVE_COLUMNS], ...rows]));
}

describe('affect-studio eval', () => {
  const labels = [
    'image,valence,arousal,expression,aus',
    `v1/00001.jpg,0.5,0.2,4,${only(1)}`,
    `v1/00002.jpg,-5,-5,-1,${none}`, // nothing valid: not a labelled frame
    `v1/00003.jpg,-0.5,0.4,5,${only(0)}`,
    `v1/00004.jpg,0.0,-5,4,${none}`,
  ];
  const preds = [
    { frame: 1, v: 0.4, a: 0.1, expr: 'Happiness', au1: 0.8 },
    { frame: 3, v: -0.3, a: 0.5, expr: 'Sadness', au1: 0.3 },
    { frame: 4, v: 0.1, a: 0.0, expr: 'Neutral', au1: 0.9 },
  ];

  it('masks invalid labels per task and scores as the challenge does', async () => {
    const dir = freshDir('eval');
    writeFileSync(path.join(dir, 'labels.txt'), `${labels.join('\n')}\n`);
    mkdirSync(path.join(dir, 'pred'));
    writePredictions(path.join(dir, 'pred'), 'v1', preds);
    const r = await runCli(['eval', '--pred', path.join(dir, 'pred'), '--labels', path.join(dir, 'labels.txt'), '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.labelledFrames).toBe(3);
    expect(report.frames).toEqual({ valence: 3, arousal: 2, expression: 3, au: 2 });
    expect(report.cccValence).toBeCloseTo(ccc([0.4, -0.3, 0.1], [0.5, -0.5, 0]), 10);
    expect(report.cccArousal).toBeCloseTo(ccc([0.1, 0.5], [0.2, 0.4]), 10);
    // expression labels [4,5,4], predictions [4,5,0]: Happiness 2/3, Sadness 1, the other six 0
    expect(report.f1ExpressionPerClass.Happiness).toBeCloseTo(2 / 3, 10);
    expect(report.f1ExpressionPerClass.Sadness).toBe(1);
    expect(report.f1Expression).toBeCloseTo((2 / 3 + 1) / 8, 10);
    // AU labelled on frames 1 and 3: AU1 [1, 0] vs [0.8, 0.3] → 1; the eleven others never occur → 0
    expect(report.f1AuPerAu.AU1).toBe(1);
    expect(report.f1Au).toBeCloseTo(1 / 12, 10);
    expect(report.pMtl).toBeCloseTo(0.5 * (report.cccValence + report.cccArousal) + report.f1Expression + report.f1Au, 10);

    const text = await runCli(['eval', '--pred', path.join(dir, 'pred'), '--labels', path.join(dir, 'labels.txt')]);
    expect(text.stdout).toMatch(/CCC valence\s+-?\d\.\d{3}/);
    expect(text.stdout).toMatch(/P_MTL = ½\(CCC_V \+ CCC_A\) \+ F1_expr \+ F1_AU = /);
    expect(text.stdout).toMatch(/tuned on these labels/);
  });

  it('labelled frames without a prediction are listed and fail, unless --allow-missing', async () => {
    const dir = freshDir('eval');
    writeFileSync(path.join(dir, 'labels.txt'), `${[...labels, `v1/00007.jpg,0.1,0.1,0,${none}`, `v2/00001.jpg,0.1,0.1,0,${none}`].join('\n')}\n`);
    writePredictions(dir, 'v1', preds);
    const r = await runCli(['eval', '--pred', path.join(dir, 'v1.csv'), '--labels', path.join(dir, 'labels.txt')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/2 labelled frame\(s\) have no prediction: v1\/00007, v2\/00001/);
    const ok = await runCli(['eval', '--pred', path.join(dir, 'v1.csv'), '--labels', path.join(dir, 'labels.txt'), '--allow-missing']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/2 without prediction \(skipped\)/);
  });

  it.each([
    ['v1/00001.jpg,0.5,0.2,4,1,0', /line 3: 6 fields, expected 16/],
    [`v1/00001.jpg,1.5,0.2,4,${only(1)}`, /line 3: valence 1\.5 is outside \[-1, 1\]/],
    [`v1/00001.jpg,0.5,0.2,9,${only(1)}`, /line 3: expression 9 is not a class index 0–7/],
    [`v1/00001.jpg,0.5,0.2,4,${only(2)}`, /line 3: AU1 2 is not 0, 1 or −1/],
    [`v1/00001.jpg,0.5,abc,4,${only(1)}`, /line 3: arousal "abc" is not a number/],
    [`frame1,0.5,0.2,4,${only(1)}`, /line 3: image "frame1" is not <video>\/<frame>\.jpg/],
  ])('a malformed labels row %j is an error with its line number', async (bad, pattern) => {
    const dir = freshDir('eval');
    const file = path.join(dir, 'labels.txt');
    writeFileSync(file, `${[labels[0], labels[1], bad].join('\n')}\n`);
    writePredictions(dir, 'v1', preds);
    const r = await runCli(['eval', '--pred', path.join(dir, 'v1.csv'), '--labels', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(pattern);
  });

  it('reads the Aff-Wild2 per-task layout and merges the tasks', () => {
    const root = freshDir('affwild');
    const put = (dir: string, name: string, text: string) => {
      mkdirSync(path.join(root, dir, 'Validation_Set'), { recursive: true });
      writeFileSync(path.join(root, dir, 'Validation_Set', name), text);
    };
    put('VA_Estimation_Challenge', 'vid.txt', 'valence,arousal\n0.1,0.2\n-5,-5\n0.3,0.4\n');
    put('EXPR_Recognition_Challenge', 'vid.txt', `${EXPRESSIONS.join(',')}\n4\n-1\n7\n`);
    put('AU_Detection_Challenge', 'vid.txt', `${AUS.join(',')}\n${only(1)}\n${only(0)}\n${none}\n`);
    const set = readLabels(root);
    const v = set.get('vid') as Map<number, { valence?: number; expression?: number; au?: Int8Array }>;
    expect(v.get(1)).toMatchObject({ valence: 0.1, expression: 4 });
    expect(Array.from(v.get(1)?.au ?? [])).toEqual([1, ...AUS.slice(1).map(() => 0)]);
    expect(v.get(2)?.valence).toBeUndefined();
    expect(v.get(3)).toMatchObject({ valence: 0.3, expression: 7 });
    expect(v.get(3)?.au).toBeUndefined();
  });
});
