/**
 * The SLURM job-array script that runs a sharded batch: task i runs `--shard (i+1)/N` of the same
 * command, all writing into one output folder on shared storage. Also the folder layout under
 * `<out>/slurm/` (script, logs, job.json with what was submitted).
 *
 * The script names node and the CLI by absolute path (a batch job's PATH is often not the login
 * shell's) and checks they exist on the node before starting, so a node without them fails with a
 * line saying so in its log instead of "command not found".
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../../common/node/storage.js';
import { UserError } from '../../../common/errors.js';
import { shellQuote, type ShardedCommand } from '../jobs/shard-records.js';

export interface SlurmResources {
  /** Array tasks = shards. */
  tasks: number;
  partition?: string;
  /** Time limit per task, in a format sbatch takes (HH:MM:SS, MM:SS, D-HH:MM:SS, minutes). */
  time?: string;
  cpusPerTask: number;
  /** Memory per node, as sbatch --mem takes it (e.g. 8G). */
  mem?: string;
  /** GPUs per task ([type:]count). */
  gpusPerTask?: string;
  /** More `#SBATCH` options, verbatim (e.g. --account=lab, --qos=short). */
  sbatchArgs: string[];
}

export interface JobScriptInput {
  command: ShardedCommand;
  /** Arguments for the command (inputs and options) without --out and --shard. */
  args: string[];
  out: string;
  cwd: string;
  node: string;
  cli: string;
  resources: SlurmResources;
  /** Environment variables to set in the job (AFFECT_STUDIO_* of the submitting shell). */
  env: Record<string, string>;
  toolVersion: string;
}

/** One submission of the array (the first, or a resubmission of some tasks). */
export interface SlurmSubmission {
  jobId: string;
  /** The --array value: which task indices (0-based) it ran. */
  array: string;
  submitted: string;
}

/** `<out>/slurm/job.json`: what this folder's array is and what was submitted. */
export interface SlurmJobFile {
  command: ShardedCommand;
  tasks: number;
  jobName: string;
  script: string;
  out: string;
  created: string;
  submissions: SlurmSubmission[];
}

export const slurmDir = (out: string): string => path.join(out, 'slurm');
export const slurmLogsDir = (out: string): string => path.join(out, 'slurm', 'logs');
export const jobFilePath = (out: string): string => path.join(out, 'slurm', 'job.json');
export const scriptPath = (out: string, command: ShardedCommand): string => path.join(out, 'slurm', `${command}.sbatch`);
export const jobName = (command: ShardedCommand): string => `affect-${command}`;
/** sbatch's --output pattern: %x job name, %A array job id, %a task index. */
export const LOG_PATTERN = '%x-%A_%a.out';
export const logFile = (out: string, name: string, jobId: string, task: number): string => path.join(slurmLogsDir(out), `${name}-${jobId}_${task}.out`);

const TIME = /^(UNLIMITED|INFINITE|\d+|\d+:\d{1,2}(:\d{1,2})?|\d+-\d{1,2}(:\d{1,2}(:\d{1,2})?)?)$/i;
const MEM = /^\d+[KMGT]?$/i;
const PARTITION = /^[\w.,-]+$/;
const GPUS = /^([\w-]+:)?\d+$/;

/** Checks values before they reach sbatch, which would reject them with less to go on. */
export function checkResources(r: SlurmResources): void {
  if (r.time !== undefined && !TIME.test(r.time)) throw new UserError(`--time ${r.time}: not a SLURM time limit`, 'use HH:MM:SS (e.g. 02:00:00), MM:SS, D-HH:MM:SS or minutes');
  if (r.mem !== undefined && !MEM.test(r.mem)) throw new UserError(`--mem ${r.mem}: not a SLURM memory size`, 'use a number with an optional K/M/G/T suffix, e.g. 8G');
  if (r.partition !== undefined && !PARTITION.test(r.partition)) throw new UserError(`--partition ${r.partition}: not a partition name`, 'see `sinfo` for the partitions of your cluster');
  if (r.gpusPerTask !== undefined && !GPUS.test(r.gpusPerTask)) throw new UserError(`--gpus-per-task ${r.gpusPerTask}: expected a count, or type:count (e.g. 1 or a100:1)`);
  for (const a of r.sbatchArgs) {
    if (!a.startsWith('-') || /[\r\n]/.test(a)) throw new UserError(`--sbatch-arg ${JSON.stringify(a)}: expected one sbatch option such as --account=lab`, 'give each extra sbatch option in its own --sbatch-arg');
  }
}

/** A `#SBATCH` value: sbatch reads double quotes around values with spaces. */
const directiveValue = (v: string): string => (/[\s"]/.test(v) ? `"${v.replace(/"/g, '\\"')}"` : v);

export function buildJobScript(j: JobScriptInput): string {
  const r = j.resources;
  const n = r.tasks;
  const sbatch = [
    `--job-name=${jobName(j.command)}`,
    `--array=0-${n - 1}`,
    `--output=${directiveValue(path.join(slurmLogsDir(j.out), LOG_PATTERN))}`,
    `--cpus-per-task=${r.cpusPerTask}`,
    ...(r.partition ? [`--partition=${r.partition}`] : []),
    ...(r.time ? [`--time=${r.time}`] : []),
    ...(r.mem ? [`--mem=${r.mem}`] : []),
    ...(r.gpusPerTask ? [`--gpus-per-task=${r.gpusPerTask}`] : []),
    ...r.sbatchArgs,
  ];
  const args = [j.command, ...j.args, '--out', j.out].map(shellQuote).join(' ');
  return [
    '#!/bin/bash',
    `# Affect Studio ${j.toolVersion}: \`${j.command}\` split into ${n} shard(s), one SLURM array task each.`,
    `# Task i runs shard i+1 of ${n} and writes its outputs and run.shard-<i+1>-of-${n}.json into`,
    `# ${j.out}; the last task to finish merges run.json. A rerun of a task skips its finished videos:`,
    `#   affect-studio slurm status ${j.out}     affect-studio slurm resubmit ${j.out}`,
    ...sbatch.map((o) => `#SBATCH ${o}`),
    'set -euo pipefail',
    ...Object.entries(j.env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    `NODE=${shellQuote(j.node)}`,
    `CLI=${shellQuote(j.cli)}`,
    'if [ ! -x "$NODE" ] || [ ! -f "$CLI" ]; then',
    '  echo "affect-studio: $NODE or $CLI is missing on $(hostname): install Node and Affect Studio at the same paths on every node (shared storage), then resubmit" >&2',
    '  exit 2',
    'fi',
    `cd ${shellQuote(j.cwd)}`,
    'SHARD=$((SLURM_ARRAY_TASK_ID + 1))',
    `echo "affect-studio: shard $SHARD/${n} on $(hostname), SLURM job \${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"`,
    `exec "$NODE" "$CLI" ${args} --shard "$SHARD/${n}"`,
    '',
  ].join('\n');
}

export function readJobFile(out: string): SlurmJobFile {
  const file = jobFilePath(out);
  if (!existsSync(file)) throw new UserError('no SLURM job was submitted for this folder (slurm/job.json is missing)', 'submit with `affect-studio slurm predict|features … --out DIR`', out);
  return JSON.parse(readFileSync(file, 'utf8')) as SlurmJobFile;
}

export function writeJobFile(job: SlurmJobFile): void {
  writeFileAtomic(jobFilePath(job.out), `${JSON.stringify(job, null, 2)}\n`);
}

/** Task indices as an sbatch --array list: [0,1,2,5] → "0-2,5". */
export function arrayList(indices: number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j;
  }
  return parts.join(',');
}

/** An --array list or a scontrol ArrayTaskId ("0-2,5", "1-7:2", "3-5%2") → the indices. */
export function parseArrayList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.replace(/^\[|\]$/g, '').replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    for (let i = a; i <= b; i += step) out.push(i);
  }
  return out;
}
