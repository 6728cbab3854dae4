/**
 * What became of each array task of a folder's SLURM job: pending, running, done or failed.
 *
 * A task is done when its shard record says the shard finished (even if the task then exited 1
 * because some videos failed: those are reported per video). Otherwise the scheduler's word counts
 * (scontrol / sacct for the latest submission of that task); when the scheduler has forgotten the
 * job (no accounting, and older than MinJobAge), the task's log tells whether slurmstepd cancelled
 * it or hit its time limit.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readShardRecord, type ShardRecord } from '../jobs/shard-records.js';
import { shardRecordFile } from '../jobs/shards.js';
import { logFile, parseArrayList, readJobFile, type SlurmJobFile } from './job-script.js';
import { queryArrayJob, type TaskState } from './scheduler.js';

export type TaskPhase = 'pending' | 'running' | 'done' | 'failed';

export interface TaskStatus {
  /** Array index (0-based); the shard is index + 1. */
  task: number;
  shard: number;
  phase: TaskPhase;
  /** Why, in words: scheduler state, reason, exit code, or what the log says. */
  detail: string;
  /** The job id of the latest submission that ran this task, and its log. */
  jobId?: string;
  log?: string;
  node?: string;
  /** From the shard record. */
  videos?: number;
  done?: number;
  failed?: number;
}

export interface JobStatus {
  job: SlurmJobFile;
  tasks: TaskStatus[];
  counts: Record<TaskPhase, number>;
  /** Whether sacct answered (the cluster keeps accounting). */
  accounting: boolean;
}

const PENDING = new Set(['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SPECIAL_EXIT']);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'SUSPENDED', 'STAGE_OUT', 'SIGNALING', 'RESIZING']);

/** What slurmstepd writes into a task's output when it ends it. */
function logVerdict(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  if (/\*\*\* JOB \d+ ON \S+ CANCELLED AT/.test(text)) return 'cancelled (from its log)';
  if (/DUE TO TIME LIMIT/.test(text)) return 'hit its time limit (from its log)';
  if (/DUE TO (NODE FAILURE|PREEMPTION)/.test(text)) return 'ended by node failure or preemption (from its log)';
  if (/oom[-_ ]kill|Out Of Memory/i.test(text)) return 'ran out of memory (from its log)';
  return undefined;
}

function readRecord(out: string, index: number, count: number): ShardRecord | undefined {
  const file = path.join(out, shardRecordFile({ index, count }));
  if (!existsSync(file)) return undefined;
  try {
    return readShardRecord(file);
  } catch {
    return undefined;
  }
}

export function jobStatus(out: string): JobStatus {
  const job = readJobFile(out);
  // latest submission per task
  const latest = new Map<number, string>();
  for (const s of job.submissions) for (const i of parseArrayList(s.array)) latest.set(i, s.jobId);
  const known = new Map<string, { tasks: Map<number, TaskState>; accounting: boolean }>();
  for (const id of new Set(latest.values())) known.set(id, queryArrayJob(id));

  const tasks: TaskStatus[] = [];
  for (let task = 0; task < job.tasks; task++) {
    const shard = task + 1;
    const jobId = latest.get(task);
    const sched = jobId ? known.get(jobId)?.tasks.get(task) : undefined;
    const record = readRecord(out, shard, job.tasks);
    const videos = record?.shard.videos.length;
    const outcomes = record ? record.shard.videos.map((v) => record.videos[v.stem]).filter((o) => o && o.file) : [];
    const done = outcomes.filter((o) => o.status === 'done').length;
    const failed = outcomes.filter((o) => o.status === 'failed').length;
    const log = jobId ? logFile(out, job.jobName, jobId, task) : undefined;
    const base = { task, shard, jobId, log, node: sched?.node ?? record?.shard.host, ...(record ? { videos, done, failed } : {}) };
    const schedText = sched ? `${sched.state}${sched.reason && sched.reason !== 'None' ? ` (${sched.reason})` : ''}${sched.exitCode && sched.exitCode !== '0:0' ? `, exit ${sched.exitCode}` : ''}` : '';
    let phase: TaskPhase;
    let detail: string;
    if (!jobId) {
      phase = record?.shard.finished ? 'done' : 'failed';
      detail = 'never submitted';
    } else if (sched && PENDING.has(sched.state)) {
      phase = 'pending';
      detail = schedText;
    } else if (sched && RUNNING.has(sched.state)) {
      phase = 'running';
      detail = `${schedText}${record ? `, ${done + failed} of ${videos} video(s) so far` : ''}`;
    } else if (record?.shard.finished) {
      phase = 'done';
      detail = `${failed ? `${failed} video(s) failed` : 'all videos done'}${sched ? ` [${schedText}]` : ''}`;
    } else {
      phase = 'failed';
      detail = sched ? schedText : (log && logVerdict(log)) ?? (record ? 'stopped before finishing its videos (the scheduler no longer knows the job)' : 'no shard record (the scheduler no longer knows the job)');
    }
    tasks.push({ ...base, phase, detail });
  }
  const counts: Record<TaskPhase, number> = { pending: 0, running: 0, done: 0, failed: 0 };
  for (const t of tasks) counts[t.phase]++;
  return { job, tasks, counts, accounting: [...known.values()].some((k) => k.accounting) };
}
