/**
 * A long piece of work started from the app (a model run, the batch queue, a training run): it runs
 * in the background, its state is reported to the UI whenever it changes (and saved to a file when
 * it has one, so a restart finds it), and it can be cancelled. How it ended — done, cancelled or
 * failed with a message a user can act on — is decided here once for every kind of job.
 */
import { existsSync } from 'node:fs';
import { describeError, UserError } from '../../../common/errors.js';
import { readJsonFile, setAside, writeFileAtomic } from '../../../common/node/storage.js';

export type Outcome = { status: 'done' } | { status: 'cancelled' } | { status: 'failed'; error: string };

export interface JobOptions<S> {
  onChange?: (state: S) => void;
  /** Saved here (atomically) after every change, and read back on creation. */
  file?: string;
  /** What a saved state needs on a restart (e.g. work that was running is queued again). */
  revive?: (saved: S) => S;
}

export const isAbort = (err: unknown): boolean => (err as Error | undefined)?.name === 'AbortError';

export class Job<S extends object> {
  private state: S;
  private controller?: AbortController;
  /** Why the saved state could not be read, when it could not (the job started afresh). */
  readonly loadProblem?: string;
  /** Why the state could not be saved the last time, until a save works again. */
  saveProblem?: string;

  constructor(initial: S, private readonly options: JobOptions<S> = {}) {
    this.state = initial;
    if (options.file && existsSync(options.file)) {
      try {
        const saved = readJsonFile(options.file, '') as S;
        this.state = options.revive ? options.revive(saved) : saved;
      } catch (err) {
        // keep the damaged file for the user (the next save would overwrite it), start afresh
        let where: string;
        try {
          where = `moved to ${setAside(options.file)}`;
        } catch (moveErr) {
          where = `not moved aside: ${describeError(moveErr)}`;
        }
        this.state = initial;
        this.loadProblem = `${options.file}: the saved state could not be read (${err instanceof UserError ? err.message : describeError(err)}); ${where}; starting afresh`;
      }
    }
  }

  snapshot(): S {
    return structuredClone(this.state);
  }

  /**
   * Changes the state (a patch, or a function that edits it in place), saves and reports it.
   * `save: false` only reports it: frequent progress that a restart does not need.
   */
  update(change: Partial<S> | ((s: S) => void), { save = true } = {}): S {
    if (typeof change === 'function') change(this.state);
    else this.state = { ...this.state, ...change };
    if (save && this.options.file) {
      // a state that cannot be saved (disk full) is still reported and the work goes on
      try {
        writeFileAtomic(this.options.file, `${JSON.stringify(this.state, null, 1)}\n`);
        this.saveProblem = undefined;
      } catch (err) {
        const problem = describeError(err);
        if (problem !== this.saveProblem) console.error(`${problem} (the job goes on; its state is not saved)`);
        this.saveProblem = problem;
      }
    }
    const s = this.snapshot();
    this.options.onChange?.(s);
    return s;
  }

  get running(): boolean {
    return this.controller !== undefined;
  }

  /**
   * Runs `work` in the background; `end` hears how it ended. Work that stops because its signal was
   * aborted (cancel()) ends as cancelled; any other error ends it as failed, described for the user.
   */
  start(work: (signal: AbortSignal) => Promise<void>, end: (outcome: Outcome) => void): void {
    if (this.controller) throw new UserError('this job is already running', 'wait for it to finish, or stop it first');
    const controller = new AbortController();
    this.controller = controller;
    void (async () => {
      let outcome: Outcome;
      try {
        await work(controller.signal);
        outcome = { status: 'done' };
      } catch (err) {
        outcome = isAbort(err) || controller.signal.aborted ? { status: 'cancelled' } : { status: 'failed', error: describeError(err) };
      } finally {
        this.controller = undefined;
      }
      try {
        end(outcome);
      } catch (err) {
        // nothing may escape into the event loop: a server would go down with it
        console.error(`job end: ${describeError(err)}`);
      }
    })();
  }

  /** Asks running work to stop; false when nothing was running. */
  cancel(): boolean {
    if (!this.controller) return false;
    this.controller.abort();
    return true;
  }
}
