#!/usr/bin/env node
/**
 * affect-studio command line: the engine without the desktop app (lab servers, scripts, CI).
 */
import { Command, CommanderError } from 'commander';
import { UserError } from '../../common/errors.js';
import { toolVersion } from '../../common/node/version.js';

/**
 * The commands, each loaded only when it runs: their modules pull in heavy dependencies (the
 * trainer loads TensorFlow.js, the server zod), and loading all of them took about a second before
 * any work started, on every `predict` of a batch script.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  features: async () => (await import('./features-command.js')).featuresCommand(),
  predict: async () => (await import('./predict-command.js')).predictCommand(),
  eval: async () => (await import('./eval-command.js')).evalCommand(),
  bundles: async () => (await import('./bundles-command.js')).bundlesCommand(),
  serve: async () => (await import('./serve-command.js')).serveCommand(),
  train: async () => (await import('./train-command.js')).trainCommand(),
  ensemble: async () => (await import('./ensemble-command.js')).ensembleCommand(),
  merge: async () => (await import('./merge-command.js')).mergeCommand(),
  slurm: async () => (await import('./slurm-command.js')).slurmCommand(),
  doctor: async () => (await import('./doctor-command.js')).doctorCommand(),
};

/** The program with the command named on the command line, or with all of them (help, a typo). */
async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command('affect-studio')
    .description('Facial affect analysis of video: faces, features, valence/arousal, expressions and action units.')
    .version(toolVersion())
    .showHelpAfterError('(run with --help for usage)');
  const named = argv.slice(2).find((a) => !a.startsWith('-'));
  const wanted = named && named in COMMANDS ? [named] : Object.keys(COMMANDS);
  for (const name of wanted) program.addCommand(await COMMANDS[name]());
  return program;
}

async function main(): Promise<void> {
  const program = await buildProgram(process.argv);
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
