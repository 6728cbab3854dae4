#!/usr/bin/env node
/**
 * affect-studio command line: the engine without the desktop app (lab servers, scripts, CI).
 */
import { Command, CommanderError } from 'commander';
import { UserError } from '../../common/errors.js';
import { featuresCommand } from './features-command.js';
import { predictCommand } from './predict-command.js';
import { evalCommand } from './eval-command.js';
import { bundlesCommand } from './bundles-command.js';
import { serveCommand } from './serve-command.js';
import { trainCommand } from './train-command.js';
import { ensembleCommand } from './ensemble-command.js';
import { toolVersion } from '../../common/node/version.js';
import { mergeCommand } from './merge-command.js';
import { slurmCommand } from './slurm-command.js';


function buildProgram(): Command {
  return new Command('affect-studio')
    .description('Facial affect analysis of video: faces, features, valence/arousal, expressions and action units.')
    .version(toolVersion())
    .showHelpAfterError('(run with --help for usage)')
    .addCommand(featuresCommand())
    .addCommand(predictCommand())
    .addCommand(evalCommand())
    .addCommand(bundlesCommand())
    .addCommand(serveCommand())
    .addCommand(trainCommand())
    .addCommand(ensembleCommand())
    .addCommand(mergeCommand())
    .addCommand(slurmCommand());
}

async function main(): Promise<void> {
  const program = buildProgram();
  // usage errors exit with 2 (like a run that could not start), not commander's 1
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const cmd of all(program)) cmd.exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof UserError) {
      process.stderr.write(`error: ${err.describe()}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

await main();
