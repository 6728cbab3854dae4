/**
 * `affect-studio eval --pred FILE|DIR --labels FILE|DIR`: the ABAW challenge scores of predictions.
 */
import { Command } from 'commander';
import { readLabels } from '../../models/data/abaw-labels.js';
import { evaluate, readNativePredictions, type EvalReport } from '../engine/eval/evaluate.js';
import { UserError } from '../../common/errors.js';
import { nonNegativeInt } from './options.js';

interface EvalFlags {
  pred: string;
  labels: string;
  allowMissing?: boolean;
  faceId?: number;
  json?: boolean;
}

const f3 = (x: number): string => (Number.isNaN(x) ? '  n/a' : x.toFixed(3));

function formatReport(r: EvalReport): string {
  const lines = [
    `videos ${r.videos}, labelled frames ${r.labelledFrames}${r.missing.count ? `, ${r.missing.count} without prediction (skipped)` : ''}`,
    `frames scored: V ${r.frames.valence}, A ${r.frames.arousal}, expression ${r.frames.expression}, AU ${r.frames.au}`,
    '',
    `CCC valence          ${f3(r.cccValence)}`,
    `CCC arousal          ${f3(r.cccArousal)}`,
    `F1 expression (macro over 8)  ${f3(r.f1Expression)}   ${Object.entries(r.f1ExpressionPerClass).map(([k, v]) => `${k} ${f3(v)}`).join(' ')}`,
    `F1 AU (mean of 12, threshold 0.5)  ${f3(r.f1Au)}   ${Object.entries(r.f1AuPerAu).map(([k, v]) => `${k} ${f3(v)}`).join(' ')}`,
    `P_MTL = ½(CCC_V + CCC_A) + F1_expr + F1_AU = ${f3(r.pMtl)}`,
    '',
    `With per-AU thresholds tuned on these labels (optimistic; report separately): F1 AU ${f3(r.f1AuTuned)}, P_MTL ${f3(r.pMtlTunedAu)}`,
    `  thresholds: ${Object.entries(r.tunedThresholds).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(' ')}`,
  ];
  return lines.join('\n');
}

export function evalCommand(): Command {
  return new Command('eval')
    .description('Score predictions against ABAW labels: CCC for valence and arousal, expression macro F1, mean AU F1, and P_MTL.')
    .addHelpText('after', '\nLabels: an s-Aff-Wild2 multi-task annotation file (image,valence,arousal,expression,aus), Aff-Wild2\n' +
      'per-task files (<video>.txt), or a folder of either. Invalid labels (−5, −1) are masked per task, as the\n' +
      'challenge does. Predictions: the native CSVs of `affect-studio predict` (a folder of <video>.csv or one file),\n' +
      'matched to labels by video name and frame number. Metrics: ../shared/ABAW.md, docs/predict.md.\n\n' +
      'Exit status: 0 scored, 1 labelled frames or tasks lack predictions (listed; see --allow-missing) or a labelled\n' +
      'task cannot be scored at all, 2 bad input (unreadable files, a missing column, NaN or infinite predictions).')
    .requiredOption('--pred <file|dir>', 'prediction CSV(s) written by `affect-studio predict`')
    .requiredOption('--labels <file|dir>', 'ABAW annotation file(s)')
    .option('--allow-missing', 'score the frames that have predictions even if some labelled frames have none')
    .option('--face-id <n>', 'which face to score in videos with several (default: the one seen in most frames)', nonNegativeInt)
    .option('--json', 'print the report as JSON')
    .action((flags: EvalFlags) => {
      let labels;
      try {
        labels = readLabels(flags.labels);
      } catch (err) {
        if (err instanceof UserError) throw err;
        throw new UserError(`labels cannot be read (${(err as Error).message})`, 'pass an ABAW annotation file or a folder of them', flags.labels);
      }
      let preds;
      try {
        preds = readNativePredictions(flags.pred, flags.faceId);
      } catch (err) {
        if (err instanceof UserError) throw err;
        throw new UserError(`predictions cannot be read (${(err as Error).message})`, 'pass the native CSVs of `affect-studio predict`', flags.pred);
      }
      const report = evaluate(labels, preds);
      const at = (x: { video: string; frame: number; column: string }) => `${x.video}/${String(x.frame).padStart(5, '0')}, column "${x.column}"`;
      if (report.firstNonFinite) {
        // a NaN or Inf is a broken prediction file, never something to score around
        const n = Object.values(report.nonFinite).reduce((a, b) => a + b, 0);
        throw new UserError(`${n} labelled task value(s) are predicted as NaN or infinity (first: ${at(report.firstNonFinite)})`, 'the predictions are damaged: predict that video again', flags.pred);
      }
      if (report.missing.count && !flags.allowMissing) {
        const list = report.missing.first.map((m) => `${m.video}/${String(m.frame).padStart(5, '0')}`).join(', ');
        process.stderr.write(`error: ${report.missing.count} labelled frame(s) have no prediction: ${list}${report.missing.count > report.missing.first.length ? ', …' : ''}\n` +
          '  — predict those videos (with a face found in those frames), or score the rest with --allow-missing\n');
        if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        process.exitCode = 1;
        return;
      }
      // a labelled task without a score makes P_MTL a different number: say which, and fail
      const unscorable = report.scored.filter((t) => report.frames[t] === 0);
      const unpredicted = Object.values(report.unpredicted).reduce((a, b) => a + b, 0);
      if ((unscorable.length || (unpredicted && !flags.allowMissing)) && report.firstUnpredicted) {
        process.stderr.write(`error: ${unscorable.length ? `${unscorable.join(', ')} cannot be scored: ` : ''}${unpredicted} labelled task value(s) have no prediction in their row (first: ${at(report.firstUnpredicted)})\n` +
          '  — predict with a bundle that predicts every labelled task, or score the rest with --allow-missing\n');
        if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        process.exitCode = 1;
        return;
      }
      if (unscorable.length) {
        process.stderr.write(`error: ${unscorable.join(', ')} cannot be scored: no labelled frame of ${unscorable.length > 1 ? 'these tasks' : 'this task'} has a prediction\n` +
          '  — predict the labelled videos, or drop those labels\n');
        if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    });
}
