/**
 * `affect-studio ensemble BUNDLE... --val LABELS --features DIR --out BUNDLE`
 */
import path from 'node:path';
import { Command } from 'commander';
import { buildEnsemble } from '../engine/ensemble/build-ensemble.js';
import { positiveInt } from './options.js';

export function ensembleCommand(): Command {
  return new Command('ensemble')
    .description('Choose an ensemble of bundles on validation data and write it as one bundle.')
    .addHelpText('after', '\nGreedy selection with replacement (Caruana et al.): the bundle that raises the ensemble\'s validation P_MTL most\n' +
      'is added until none does; weights are how often each was chosen. Members are copied into the new bundle.')
    .argument('<bundles...>', 'candidate bundle folders (or installed ids)')
    .requiredOption('--val <file>', 'validation annotations (s-Aff-Wild2 layout)')
    .requiredOption('--features <dir>', 'the validation videos\' features (<video>.npy)')
    .requiredOption('-o, --out <dir>', 'folder for the ensemble bundle')
    .option('--rounds <n>', 'selection rounds (the most members, counting repeats)', positiveInt, 10)
    .option('--id <id>', 'bundle id')
    .action(async (bundles: string[], flags: { val: string; features: string; out: string; rounds: number; id?: string }) => {
      const { resolveBundleDir } = await import('../../models/bundle/store.js');
      const r = await buildEnsemble(bundles.map(resolveBundleDir), { valLabels: flags.val, features: flags.features, out: path.resolve(flags.out), rounds: flags.rounds, id: flags.id });
      for (const m of r.members) process.stderr.write(`  ${m.id} ×${m.weight} (alone: P_MTL ${m.pMtl.toFixed(3)})\n`);
      process.stderr.write(`ensemble P_MTL ${r.report.pMtl.toFixed(3)} (CCC_V ${r.report.cccValence.toFixed(3)} CCC_A ${r.report.cccArousal.toFixed(3)} F1_expr ${r.report.f1Expression.toFixed(3)} F1_AU ${r.report.f1Au.toFixed(3)}) → ${r.out}\n`);
    });
}
