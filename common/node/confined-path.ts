/**
 * Paths built from names that arrive as data (ids in API requests, bundle references): the
 * result must stay inside the folder it was meant for, whatever the name holds ("..", "/", "\").
 */
import path from 'node:path';
import { isSafeId, SAFE_ID_RULE } from '../ids.js';
import { UserError } from '../errors.js';

/** True when `child` is `parent` or lies below it (both absolute, resolved). */
export function isWithin(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * `root/parts…`, after checking that each part is a safe id (what: what the part names, for the
 * message) and that the joined path stays under `root`.
 */
export function pathInside(root: string, what: string, ...parts: string[]): string {
  for (const part of parts) {
    if (!isSafeId(part)) throw new UserError(`invalid ${what} "${part.slice(0, 80)}": use ${SAFE_ID_RULE}`);
  }
  const base = path.resolve(root);
  const full = path.resolve(base, ...parts);
  if (full === base || !isWithin(base, full)) throw new UserError(`invalid ${what} "${parts.join('/').slice(0, 80)}"`);
  return full;
}
