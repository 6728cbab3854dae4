/**
 * Talking to SLURM through its commands: `sbatch` to submit, `scontrol show job` and `sacct` to
 * learn what became of array tasks.
 *
 * `scontrol` knows pending, running and recently ended jobs (for MinJobAge, 5 minutes by default)
 * and works on every cluster; `sacct` knows ended jobs for good, but only where the cluster keeps
 * accounting ("accounting storage is disabled" otherwise). Both are asked; what neither knows, the
 * shard records and the task logs tell (task-status.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import { UserError } from '../../../common/errors.js';
import { parseArrayList } from './job-script.js';

/** What the scheduler says about one array task. */
export interface TaskState {
  /** SLURM job state: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, … */
  state: string;
  reason?: string;
  exitCode?: string;
  node?: string;
  source: 'scontrol' | 'sacct';
}

const NOT_FOUND = 'sbatch was not found: run this on a machine of your SLURM cluster (a login node), or run the shards yourself with --shard K/N (docs/cluster.md)';

/**
 * Submits a job script. Calls `onJobId` as soon as sbatch names the job; with `wait`, resolves
 * when every task ended (sbatch --wait) with sbatch's exit code (the highest of the tasks').
 */
export function submit(script: string, o: { wait?: boolean; array?: string; onJobId?: (id: string) => void }): Promise<{ jobId: string; exitCode: number }> {
  const args = ['--parsable', ...(o.wait ? ['--wait'] : []), ...(o.array !== undefined ? [`--array=${o.array}`] : []), script];
  return new Promise((resolve, reject) => {
    const child = spawn('sbatch', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let jobId = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // --parsable prints "jobid" or "jobid;cluster" on its first line, at submission
      const m = /^(\d+)(;\S+)?\s*\n/.exec(out);
      if (m && !jobId) {
        jobId = m[1];
        o.onJobId?.(jobId);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new UserError(NOT_FOUND) : e));
    child.on('close', (code) => {
      if (!jobId) {
        reject(new UserError(`sbatch refused the job: ${err.trim().split('\n').pop() || `exit code ${code}`}`, `check the SLURM options (--partition, --time, --mem, --gpus-per-task, --sbatch-arg), or try the script by hand: sbatch ${script}`));
        return;
      }
      resolve({ jobId, exitCode: code ?? 1 });
    });
  });
}

function run(cmd: string, args: string[]): { ok: boolean; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    return { ok: true, stdout, stderr: '' };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: string };
    return { ok: false, stdout: err.stdout ?? '', stderr: err.stderr ?? err.code ?? String(e) };
  }
}

/** `scontrol show job --oneliner` lines → task index → state, for one array job. */
export function parseScontrolJobs(text: string, arrayJobId: string): Map<number, TaskState> {
  const tasks = new Map<number, TaskState>();
  for (const line of text.split('\n')) {
    const f = Object.fromEntries([...line.matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1], m[2]]));
    if (f.ArrayJobId !== arrayJobId || f.ArrayTaskId === undefined) continue;
    const state: TaskState = { state: f.JobState, reason: f.Reason, exitCode: f.ExitCode, node: f.NodeList && f.NodeList !== '(null)' ? f.NodeList : undefined, source: 'scontrol' };
    for (const i of parseArrayList(f.ArrayTaskId)) tasks.set(i, state);
  }
  return tasks;
}

/** `sacct -n -P -X --format=JobID,State,ExitCode,NodeList` → task index → state. */
export function parseSacct(text: string, arrayJobId: string): Map<number, TaskState> {
  const tasks = new Map<number, TaskState>();
  for (const line of text.split('\n')) {
    const [id, state, exitCode, node] = line.split('|');
    const m = /^(\d+)_(.+)$/.exec(id ?? '');
    if (!m || m[1] !== arrayJobId || !state) continue;
    // "CANCELLED by 0" → CANCELLED
    const s: TaskState = { state: state.split(' ')[0], exitCode, node: node && node !== 'None assigned' ? node : undefined, source: 'sacct' };
    for (const i of parseArrayList(m[2])) tasks.set(i, s);
  }
  return tasks;
}

/**
 * The state of every task of an array job the scheduler still knows, and whether accounting
 * (sacct) could be asked. scontrol wins for the tasks both know (it is the live state).
 */
export function queryArrayJob(arrayJobId: string): { tasks: Map<number, TaskState>; accounting: boolean } {
  const tasks = new Map<number, TaskState>();
  const acct = run('sacct', ['-j', arrayJobId, '-n', '-P', '-X', '--format=JobID,State,ExitCode,NodeList']);
  if (acct.ok) for (const [i, s] of parseSacct(acct.stdout, arrayJobId)) tasks.set(i, s);
  const ctl = run('scontrol', ['show', 'job', arrayJobId, '--oneliner']);
  if (ctl.ok) for (const [i, s] of parseScontrolJobs(ctl.stdout, arrayJobId)) tasks.set(i, s);
  return { tasks, accounting: acct.ok };
}

/** True when `sbatch` can be run here. */
export function haveSbatch(): boolean {
  return run('sbatch', ['--version']).ok;
}
