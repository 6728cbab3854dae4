/**
 * `affect-studio slurm …`: sharded batches as SLURM job arrays.
 *
 *   slurm predict|features <inputs and options>… --out DIR --tasks N [SLURM options] [--dry-run] [--wait]
 *   slurm status DIR          pending / running / done / failed per task
 *   slurm resubmit DIR        submit again the tasks whose shard did not finish
 *
 * Everything that is not a SLURM option is handed to `affect-studio predict|features` unchanged,
 * after checking it parses there (so a typo fails here, not in N tasks on the cluster).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { toolVersion } from '../../common/node/version.js';
import { UserError } from '../../common/errors.js';
import { collectVideos } from '../engine/jobs/inputs.js';
import { runtimeLayout } from '../engine/features/pipeline.js';
import { mergeShards } from '../engine/jobs/merge-shards.js';
import type { ShardedCommand } from '../engine/jobs/shard-records.js';
import {
  arrayList, buildJobScript, checkResources, jobName, readJobFile, scriptPath, slurmLogsDir, writeJobFile,
  type SlurmJobFile, type SlurmResources,
} from '../engine/slurm/job-script.js';
import { haveSbatch, submit } from '../engine/slurm/scheduler.js';
import { jobStatus, type JobStatus } from '../engine/slurm/task-status.js';
import { featuresCommand } from './features-command.js';
import { ensureWritableDir, positiveInt } from './options.js';
import { predictCommand } from './predict-command.js';
import { mergeSucceeded, printMergeReport } from './sharding.js';

/** The submit options as commander hands them over (the resources, with --sbatch-arg's repeatable name). */
interface SubmitFlags extends Omit<SlurmResources, 'sbatchArgs'> {
  out: string;
  sbatchArg: string[];
  dryRun?: boolean;
  wait?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** The built CLI next to this file: what the job's tasks run (by absolute path). */
const cliPath = (): string => fileURLToPath(new URL('./main.js', import.meta.url));

/** AFFECT_STUDIO_* settings of this shell, written into the script (clusters may not export the environment). */
function studioEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('AFFECT_STUDIO_') && e[1] !== undefined).sort());
}

/**
 * Parses the task arguments with the real command (nothing runs) and returns its inputs and
 * options, or a UserError with commander's message.
 */
function checkTaskArgs(command: ShardedCommand, args: string[], out: string): { inputs: string[]; opts: Record<string, unknown> } {
  const cmd = command === 'predict' ? predictCommand() : featuresCommand();
  let parsed: { inputs: string[]; opts: Record<string, unknown> } | undefined;
  let message = '';
  cmd.exitOverride().configureOutput({ writeErr: (s) => (message += s), writeOut: () => {} });
  cmd.action((inputs: string[], opts: Record<string, unknown>) => {
    parsed = { inputs, opts };
  });
  try {
    cmd.parse([...args, '--out', out], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw new UserError(`${message.trim().split('\n')[0].replace(/^error: /, '') || err.message} (an option for \`affect-studio ${command}\`)`, `see affect-studio ${command} --help and affect-studio slurm ${command} --help`);
    throw err;
  }
  if (!parsed) throw new UserError(`no arguments for \`affect-studio ${command}\``);
  if (parsed.opts.shard) throw new UserError('--shard is set by the job array (task i runs shard i+1 of --tasks)', 'leave --shard out');
  if (parsed.opts.features) throw new UserError('--features (precomputed features) is not split into shards', 'run predict --features without slurm');
  if (!parsed.inputs.length) throw new UserError('no videos given', `pass video files or folders to slurm ${command}`);
  return parsed;
}

function submitCommand(command: ShardedCommand): Command {
  return new Command(command)
    .description(`Run \`affect-studio ${command}\` over N shards as one SLURM job array (one task per shard) into a shared --out.`)
    .usage(`<inputs and ${command} options...> --out DIR --tasks N [SLURM options]`)
    .addHelpText('after', `\nEvery other argument (inputs, ${command === 'predict' ? '--bundle, --format, ' : '--extractors, '}face and runtime options) is passed to\n` +
      `\`affect-studio ${command}\` in every task, with --shard <task+1>/N. Each task sizes its threads (--workers, --threads)\n` +
      'to --cpus-per-task unless they are given. Put --out (and --cache, for a shared feature cache) on storage every node sees.\n\n' +
      'Writes DIR/slurm/<command>.sbatch, submits it, prints the job id; logs go to DIR/slurm/logs/.\n' +
      'Exit status: 0 submitted (with --wait: every video done and merged), 1 with --wait: some task or video failed, 2 nothing submitted.\n' +
      'Details: docs/cluster.md.')
    .argument('[args...]')
    .requiredOption('-o, --out <dir>', 'shared output folder (every node must see it at this path)')
    .requiredOption('--tasks <n>', 'number of shards = array tasks', positiveInt)
    .option('--partition <name>', 'SLURM partition (default: the cluster\'s default)')
    .option('--time <limit>', 'time limit per task, e.g. 04:00:00')
    .option('--cpus-per-task <n>', 'CPUs per task (the task\'s threads are sized to them unless --workers/--threads are given)', positiveInt, 1)
    .option('--mem <size>', 'memory per task\'s node, e.g. 8G')
    .option('--gpus-per-task <n>', 'GPUs per task ([type:]count); pair with --ep cuda or --ep webgpu')
    .option('--sbatch-arg <arg>', 'one more sbatch option, verbatim (repeatable), e.g. --sbatch-arg=--account=lab', collect, [])
    .option('--dry-run', 'print the job script; submit nothing')
    .option('--wait', 'wait until every task ended (sbatch --wait), then merge and report')
    .allowUnknownOption()
    .action(async (_args: string[], flags: SubmitFlags, cmd: Command) => {
      process.exitCode = await submitArray(command, cmd.args, flags);
    });
}

async function submitArray(command: ShardedCommand, taskArgs: string[], flags: SubmitFlags): Promise<number> {
  const out = path.resolve(flags.out);
  const resources: SlurmResources = {
    tasks: flags.tasks, partition: flags.partition, time: flags.time, cpusPerTask: flags.cpusPerTask,
    mem: flags.mem, gpusPerTask: flags.gpusPerTask, sbatchArgs: flags.sbatchArg,
  };
  checkResources(resources);
  const { inputs, opts } = checkTaskArgs(command, taskArgs, out);
  const found = collectVideos(inputs);
  for (const p of found.problems) log(`✗ ${p.path}: ${p.message}`);
  if (!found.videos.length) throw new UserError('no video files among the inputs', 'pass video files or folders (folders are searched recursively)');
  if (flags.tasks > found.videos.length) log(`note: ${flags.tasks} tasks for ${found.videos.length} video(s): ${flags.tasks - found.videos.length} task(s) will have nothing to do`);
  // Threads sized to the allocated CPUs (the node's other cores belong to other tasks): the
  // extractor workers and ONNX Runtime threads a task of that many cores gets.
  const layout = runtimeLayout({}, flags.cpusPerTask);
  const sized = [...(opts.workers === undefined ? ['--workers', String(layout.workers)] : []), ...(opts.threads === undefined ? ['--threads', String(layout.threads)] : [])];
  const args = [...taskArgs, ...sized];
  const script = buildJobScript({
    command, args, out, cwd: process.cwd(), node: process.execPath, cli: cliPath(), resources, env: studioEnv(), toolVersion: toolVersion(),
  });
  if (flags.dryRun) {
    process.stdout.write(script);
    log(`dry run: ${found.videos.length} video(s) in ${flags.tasks} shard(s); nothing submitted (without --dry-run the script goes to ${scriptPath(out, command)})`);
    return 0;
  }
  ensureWritableDir(out);
  mkdirSync(slurmLogsDir(out), { recursive: true });
  const file = scriptPath(out, command);
  writeFileSync(file, script, { mode: 0o755 });
  const job: SlurmJobFile = { command, tasks: flags.tasks, jobName: jobName(command), script: file, out, created: new Date().toISOString(), submissions: [] };
  writeJobFile(job);
  if (!haveSbatch()) throw new UserError('sbatch was not found: run this on a machine of your SLURM cluster (a login node)', `or submit ${file} there, or run the shards yourself with --shard K/N (docs/cluster.md)`);
  return submitTasks(job, `0-${flags.tasks - 1}`, !!flags.wait, `${found.videos.length} video(s) in ${flags.tasks} shard(s)`);
}

/** Submits `array` of the folder's script, records it in job.json, and with `wait` merges at the end. */
async function submitTasks(job: SlurmJobFile, array: string, wait: boolean, what: string): Promise<number> {
  const result = await submit(job.script, {
    wait,
    array,
    onJobId(jobId) {
      job.submissions.push({ jobId, array, submitted: new Date().toISOString() });
      writeJobFile(job);
      log(`submitted SLURM job array ${jobId} (tasks ${array}): ${what}`);
      log(`  follow it:  squeue -j ${jobId} -r    or    affect-studio slurm status ${job.out}`);
      log(`  logs:       ${path.join(slurmLogsDir(job.out), `${job.jobName}-${jobId}_<task>.out`)}`);
      log(`  afterwards: sacct -j ${jobId}  (where the cluster keeps accounting); merge: affect-studio merge ${job.out}`);
      if (wait) log('waiting for every task to end (sbatch --wait)…');
    },
  });
  if (!wait) return 0;
  log(`job array ${result.jobId} ended (sbatch exit code ${result.exitCode})`);
  const status = jobStatus(job.out);
  printStatus(status);
  const report = mergeShards(job.out, { count: job.tasks });
  printMergeReport(report, log);
  return result.exitCode === 0 && mergeSucceeded(report) ? 0 : 1;
}

function printStatus(s: JobStatus): void {
  for (const t of s.tasks) {
    const where = t.node ? ` on ${t.node}` : '';
    const videos = t.videos !== undefined ? ` — ${t.done}/${t.videos} video(s) done${t.failed ? `, ${t.failed} failed` : ''}` : '';
    log(`  task ${t.task} (shard ${t.shard}/${s.job.tasks}): ${t.phase}${where}: ${t.detail}${videos}${t.jobId ? ` [job ${t.jobId}_${t.task}]` : ''}`);
    if (t.phase === 'failed' && t.log) log(`      log: ${t.log}`);
  }
  const c = s.counts;
  log(`${s.job.tasks} task(s): ${c.pending} pending, ${c.running} running, ${c.done} done, ${c.failed} failed${s.accounting ? '' : ' (no SLURM accounting here: states come from scontrol, the shard records and the logs)'}`);
  if (c.failed) log(`resubmit the failed task(s): affect-studio slurm resubmit ${s.job.out}`);
}

function statusCommand(): Command {
  return new Command('status')
    .description('Summarise the tasks of a folder\'s SLURM job array: pending, running, done, failed (from scontrol/sacct, the shard records and the logs).')
    .argument('<dir>', 'the --out folder of `slurm predict|features`')
    .option('--json', 'print the status as JSON on stdout')
    .addHelpText('after', '\nExit status: 0 no task failed (some may still be pending or running), 1 some task failed, 2 no SLURM job for DIR.')
    .action((dir: string, flags: { json?: boolean }) => {
      const s = jobStatus(path.resolve(dir));
      printStatus(s);
      if (flags.json) process.stdout.write(`${JSON.stringify({ tasks: s.tasks, counts: s.counts, accounting: s.accounting, submissions: s.job.submissions }, null, 2)}\n`);
      process.exitCode = s.counts.failed ? 1 : 0;
    });
}

function resubmitCommand(): Command {
  return new Command('resubmit')
    .description('Submit again the tasks of a folder\'s job array whose shard did not finish (cancelled, failed, timed out); finished videos are skipped.')
    .argument('<dir>', 'the --out folder of `slurm predict|features`')
    .option('--failed-videos', 'also rerun finished shards that have failed videos')
    .option('--wait', 'wait until the tasks ended, then merge and report')
    .action(async (dir: string, flags: { failedVideos?: boolean; wait?: boolean }) => {
      const s = jobStatus(path.resolve(dir));
      const redo = s.tasks.filter((t) => t.phase === 'failed' || (flags.failedVideos && t.phase === 'done' && (t.failed ?? 0) > 0)).map((t) => t.task);
      const busy = s.tasks.filter((t) => t.phase === 'pending' || t.phase === 'running').length;
      if (!redo.length) {
        log(`nothing to resubmit: ${s.counts.done} done, ${busy} pending or running${s.counts.done === s.job.tasks ? ` (merge: affect-studio merge ${s.job.out})` : ''}`);
        process.exitCode = 0;
        return;
      }
      process.exitCode = await submitTasks(s.job, arrayList(redo), !!flags.wait, `shard(s) ${redo.map((t) => t + 1).join(', ')} of ${s.job.tasks} again`);
    });
}

export function slurmCommand(): Command {
  return new Command('slurm')
    .description('Run predict/features as SLURM job arrays over shards of the inputs; follow and resubmit them (docs/cluster.md).')
    .addCommand(submitCommand('predict'))
    .addCommand(submitCommand('features'))
    .addCommand(statusCommand())
    .addCommand(resubmitCommand());
}
