/**
 * Where the app's files live (caches, user data) and how they are written: one place, so the CLI,
 * the desktop app and the tests agree.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors.js';

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

/** User data, kept (installed bundles, the default project): AFFECT_STUDIO_DATA, else the platform's data folder. */
export function dataRoot(): string {
  return process.env.AFFECT_STUDIO_DATA ? path.resolve(process.env.AFFECT_STUDIO_DATA) : platformFolder('data');
}

/** Writes a file so that readers see either the old content or the whole new one, never a part. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
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
    throw new UserError(`cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, hint, file);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`is not valid JSON (${(err as Error).message})`, hint, file);
  }
}
