/**
 * Where the app's files live (caches, user data) and how they are written: one place, so the CLI,
 * the desktop app and the tests agree.
 */
import os from 'node:os';
import path from 'node:path';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { UserError } from '../errors.js';
import { fileError } from './fs-errors.js';

/** The platform's folder for this app's caches or its user data, as each OS expects them. */
function platformFolder(kind: 'cache' | 'data'): string {
  const home = os.homedir();
  if (process.platform === 'win32') {
    const base = kind === 'cache' ? (process.env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local')) : (process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'));
    return path.join(base, 'affect-studio', ...(kind === 'cache' ? ['cache'] : []));
  }
  if (process.platform === 'darwin') return path.join(home, 'Library', kind === 'cache' ? 'Caches' : 'Application Support', 'affect-studio');
  const xdg = kind === 'cache' ? (process.env.XDG_CACHE_HOME ?? path.join(home, '.cache')) : (process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'));
  return path.join(xdg, 'affect-studio');
}

/** Generated files that can be rebuilt (converted models, feature caches): AFFECT_STUDIO_CACHE, else the platform's cache folder. */
export function cacheRoot(): string {
  return process.env.AFFECT_STUDIO_CACHE ? path.resolve(process.env.AFFECT_STUDIO_CACHE) : platformFolder('cache');
}

/**
 * What caches that do not read a file know it by: its path, size and modification time. A file
 * written again (a rebuilt conversion, an updated package) gets another stamp.
 */
export function fileStamp(file: string): [string, number, number] {
  const { size, mtimeMs } = statSync(file);
  return [path.resolve(file), size, mtimeMs];
}

/** User data, kept (installed bundles, the default project): AFFECT_STUDIO_DATA, else the platform's data folder. */
export function dataRoot(): string {
  return process.env.AFFECT_STUDIO_DATA ? path.resolve(process.env.AFFECT_STUDIO_DATA) : platformFolder('data');
}

/**
 * Writes all of `data` to a descriptor (at `position`, or the current offset). `writeSync` may
 * write less than asked when the disk fills up, and says so only in its return value: a file
 * written without this check can end up silently short.
 */
export function writeAll(fd: number, data: Uint8Array | string, position?: number): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  let done = 0;
  while (done < buf.length) {
    const n = writeSync(fd, buf, done, buf.length - done, position === undefined ? null : position + done);
    if (n <= 0) throw Object.assign(new Error('no space left on device (short write)'), { code: 'ENOSPC' });
    done += n;
  }
}

/**
 * Writes a file so that readers see either the old content or the whole new one, never a part.
 * A failure (disk full, read-only, permissions) leaves no temporary file and is a UserError
 * naming `file`.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fileError(err, file, 'write the file');
  }
}

/**
 * writeFileAtomic for a file written piece by piece (a long video's predictions): text goes to a
 * temporary file beside `file`, which `close` renames into place. A failure, or `abandon`, removes
 * the temporary file; failures are UserErrors naming `file`.
 */
export class AtomicFileWriter {
  private readonly tmp: string;
  private fd: number | undefined;
  private pending: string[] = [];
  private size = 0;
  private done = false;

  constructor(readonly file: string) {
    this.tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  }

  write(text: string): void {
    if (this.done) throw new Error(`${this.file}: written after close`);
    this.pending.push(text);
    this.size += text.length;
    if (this.size >= 1 << 16) this.flush();
  }

  /** The temporary file is made at the first write to disk: a run killed before never leaves one. */
  private flush(): void {
    try {
      if (this.fd === undefined) {
        mkdirSync(path.dirname(this.file), { recursive: true });
        this.fd = openSync(this.tmp, 'w');
      }
      if (this.pending.length) writeAll(this.fd, this.pending.join(''));
    } catch (err) {
      this.abandon();
      throw fileError(err, this.file, 'write the file');
    }
    this.pending = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    try {
      closeSync(this.fd as number);
      this.fd = undefined;
      renameSync(this.tmp, this.file);
      this.done = true;
    } catch (err) {
      this.abandon();
      throw fileError(err, this.file, 'write the file');
    }
  }

  /** Drops what was written (safe to call again, after a failure, or after close). */
  abandon(): void {
    this.pending = [];
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already unusable: the file goes anyway
      }
      this.fd = undefined;
    }
    if (!this.done) rmSync(this.tmp, { force: true });
    this.done = true;
  }
}

/**
 * Moves a damaged file out of the way (`<file>.corrupt-<time>`), so that starting afresh does not
 * overwrite what a user may still want to recover. Returns where it went.
 */
export function setAside(file: string): string {
  const to = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  try {
    renameSync(file, to);
  } catch (err) {
    throw fileError(err, file, 'move the damaged file aside');
  }
  return to;
}

/**
 * Reads a JSON file the program itself keeps (a project, a queue); a damaged one is set aside and
 * `fallback` is used, with a sentence saying so for the user. Missing files are not a problem.
 */
export function readJsonOrSetAside<T>(file: string, what: string, fallback: () => T, check: (value: unknown) => T): { value: T; problem?: string } {
  if (!existsSync(file)) return { value: fallback() };
  try {
    return { value: check(readJsonFile(file, '')) };
  } catch (err) {
    const reason = err instanceof UserError ? err.message : (err as Error).message;
    let where: string;
    try {
      where = `it was moved to ${setAside(file)}`;
    } catch (moveErr) {
      where = `it could not be moved aside (${(moveErr as UserError).message})`;
    }
    return { value: fallback(), problem: `${file}: the ${what} could not be read (${reason}); ${where} and the ${what} starts empty — restore it from that copy or a backup if you need it` };
  }
}

/**
 * Reads a JSON file; a missing, unreadable or corrupt file is a UserError naming it, with `hint`
 * saying what to do (never a bare SyntaxError).
 */
export function readJsonFile(file: string, hint: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = fileError(err, file, 'read the file');
    throw new UserError(e.message, hint || e.hint, file);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`is not valid JSON (${(err as Error).message})`, hint, file);
  }
}
