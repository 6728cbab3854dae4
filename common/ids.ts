/**
 * Identifiers that become file or folder names (video ids, run ids, job ids, annotators, training
 * run names). A request carries them as data: they must never act as paths. One rule for all.
 */

/** Letters, digits, "_", "." and "-"; never starting with "." (so never "." or ".."), no separators. */
export const SAFE_ID = /^[\p{L}\p{N}_-][\p{L}\p{N}_.-]*$/u;

export const SAFE_ID_RULE = 'letters, digits, "_", "." and "-", not starting with "."';

export function isSafeId(value: string, maxLength = 200): boolean {
  return value.length > 0 && value.length <= maxLength && SAFE_ID.test(value);
}
