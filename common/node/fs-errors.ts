/**
 * File-system failures as one line a user can act on: which file, what went wrong (disk full,
 * read-only, permission), what to do. Raw `ENOSPC: no space left on device, write` names neither
 * the file nor the remedy.
 */
import { UserError } from '../errors.js';

const REASONS: Record<string, { what: string; hint: string }> = {
  ENOSPC: { what: 'the disk is full', hint: 'free some space, or write to another folder, and run again' },
  EDQUOT: { what: 'the disk quota is used up', hint: 'free some space, or write to another folder, and run again' },
  EROFS: { what: 'the folder is on a read-only file system', hint: 'write to another folder' },
  EACCES: { what: 'permission denied', hint: 'fix the permissions, or use another folder' },
  EPERM: { what: 'operation not permitted', hint: 'fix the permissions, or use another folder' },
  ENOENT: { what: 'it does not exist', hint: 'check the path' },
  ENOTDIR: { what: 'a part of the path is not a folder', hint: 'check the path' },
  EISDIR: { what: 'it is a folder', hint: 'give a file' },
  EMFILE: { what: 'too many open files', hint: 'raise the open-files limit (ulimit -n)' },
  EIO: { what: 'an input/output error (failing disk or network share)', hint: 'check the disk' },
};

export const errorCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** True for failures that come from the storage, not from the program: full, read-only, forbidden. */
export function isStorageError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && code in REASONS;
}

/**
 * `err` (from fs) as a UserError about `file`: `cannot <doing> (the disk is full) — free some
 * space…`. A UserError passes through unchanged.
 */
export function fileError(err: unknown, file: string, doing: string): UserError {
  if (err instanceof UserError) return err;
  const code = errorCode(err);
  const reason = code ? REASONS[code] : undefined;
  if (reason) return new UserError(`cannot ${doing} (${reason.what})`, reason.hint, file);
  return new UserError(`cannot ${doing} (${code ?? (err as Error)?.message ?? String(err)})`, 'check the file and its folder', file);
}
