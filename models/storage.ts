/**
 * Where generated and cached files live (converted ONNX models, feature caches). One place, so the
 * CLI, the desktop app and the tests agree. Override with AFFECT_STUDIO_CACHE.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export function cacheRoot(): string {
  const override = process.env.AFFECT_STUDIO_CACHE;
  if (override) return path.resolve(override);
  if (process.platform === 'win32') return path.join(process.env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local'), 'affect-studio', 'cache');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Caches', 'affect-studio');
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'affect-studio');
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
