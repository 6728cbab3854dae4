/**
 * The starter bundle's AU rules against OpenFace 2.2 on the shared clip (single_face.mp4, OpenFace's
 * AUxx_r intensities written by FeatureExtraction, peer-outputs/openface-2.2/). Agreement, not ground
 * truth: each AU that varies in that clip must rise and fall with OpenFace's (figures in
 * docs/starter-bundle.md).
 */
import { pearson } from '../helpers/stats.js';
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { AUS } from '../../common/labels.js';
import { openFaceAu } from '../../electron/engine/export/columns.js';
import { runCli } from '../helpers/cli.js';
import { freshDir, repoRoot, sampleVideo } from '../helpers/fixtures.js';

type Row = Record<string, string>;


const OPENFACE_22 = path.resolve(repoRoot, '../shared/data/peer-outputs/openface-2.2/single_face.csv');

describe.skipIf(!existsSync(OPENFACE_22))('starter AUs against OpenFace 2.2 on single_face.mp4', () => {
  it('every AU that varies in the clip correlates positively with OpenFace\'s intensity', async () => {
    const out = freshDir('pred');
    const r = await runCli(['predict', sampleVideo('single_face.mp4'), '--out', out, '--no-gaze', '--ep', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    const ours = parse(readFileSync(path.join(out, 'single_face.csv')), { columns: true }) as Row[];
    const openface = parse(readFileSync(OPENFACE_22), { columns: true, trim: true }) as Row[];
    expect(ours).toHaveLength(openface.length);
    const report: string[] = [];
    let compared = 0;
    for (const au of AUS) {
      const column = `${openFaceAu(au)}_r`;
      if (!(column in openface[0])) {
        report.push(`${au}: OpenFace has no ${column}`);
        continue;
      }
      const theirs = openface.map((o) => Number(o[column]));
      if (Math.max(...theirs) === Math.min(...theirs)) {
        report.push(`${au}: constant in OpenFace's output (${theirs[0]})`);
        continue;
      }
      const rho = pearson(ours.map((o) => Number(o[au])), theirs);
      report.push(`${au}: r = ${rho.toFixed(2)}`);
      expect(rho, au).toBeGreaterThan(0.5);
      compared++;
    }
    console.log(report.join('\n'));
    expect(compared).toBe(10); // AU4 never varies in the clip; OpenFace has no AU24
  }, 120_000);
});
