/**
 * The desktop shell's checks, kept free of the `electron` package so plain Node tests can run
 * them: which page may call the API, where the window may go, how protocol URLs become ids and
 * paths, and the folders the user allowed in native dialogs (kept between sessions).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readJsonFile, writeFileAtomic } from '../../common/node/storage.js';
import { safeDecode } from '../api/transport.js';

export const APP_ORIGIN = 'app://bundle';

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** True for the app's own pages (`app://bundle/…`), the only ones that may call the API. */
export function isAppPage(url: string | undefined): boolean {
  const u = url === undefined ? undefined : parse(url);
  return !!u && u.protocol === 'app:' && u.host === 'bundle';
}

/** The video id of a `media://video/<id>` URL; undefined for anything malformed. */
export function mediaIdOf(url: string): string | undefined {
  const u = parse(url);
  if (!u || u.protocol !== 'media:' || u.host !== 'video') return undefined;
  const id = safeDecode(u.pathname.slice(1));
  return id && !id.includes('/') ? id : undefined;
}

/** The path of an `app://bundle/…` URL for the static files; undefined for other hosts or bad URLs. */
export function appPathOf(url: string): string | undefined {
  const u = parse(url);
  return u && u.protocol === 'app:' && u.host === 'bundle' ? u.pathname : undefined;
}

/** Folders (and files) the user chose in native dialogs: they stay allowed in later sessions. */
export class GrantedFolders {
  constructor(private readonly file: string) {}

  load(): string[] {
    if (!existsSync(this.file)) return [];
    try {
      const list = readJsonFile(this.file, '') as unknown;
      return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string' && path.isAbsolute(p) && existsSync(p)) : [];
    } catch {
      return []; // a damaged list only means asking again
    }
  }

  add(p: string): string[] {
    const list = [...new Set([...this.load(), path.resolve(p)])];
    writeFileAtomic(this.file, `${JSON.stringify(list, null, 1)}\n`);
    return list;
  }
}
