/**
 * `affect-studio merge DIR`: checks that every shard of a sharded batch finished and merges their
 * records into DIR/run.json (the last shard to finish does this by itself; this command is for
 * when it could not, or to see what is missing).
 */
import path from 'node:path';
import { Command } from 'commander';
import { mergeShards } from '../engine/jobs/merge-shards.js';
import { positiveInt } from './options.js';
import { mergeSucceeded, printMergeReport } from './sharding.js';

export function mergeCommand(): Command {
  return new Command('merge')
    .description('Merge the shard records (run.shard-K-of-N.json) of a sharded predict/features batch into run.json; report missing and failed videos.')
    .addHelpText('after', '\nExit status: 0 merged, every video done; 1 merged with failed videos, or shards missing/unfinished\n' +
      '(nothing written; the commands that redo them are printed); 2 no shard records in DIR.')
    .argument('<dir>', 'the shared output folder the shards wrote into (their --out)')
    .option('--of <n>', 'which split to merge when DIR holds records of several (run.shard-K-of-N.json)', positiveInt)
    .option('--json', 'print the merge report as JSON on stdout')
    .action((dir: string, flags: { of?: number; json?: boolean }) => {
      const report = mergeShards(path.resolve(dir), { count: flags.of });
      printMergeReport(report, (line) => process.stderr.write(`${line}\n`));
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      process.exitCode = mergeSucceeded(report) ? 0 : 1;
    });
}
