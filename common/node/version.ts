/** The tool's version and install folder, found from source or from the compiled dist/ tree. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: { dir: string; version: string } | undefined;

function findRoot(): { dir: string; version: string } {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'affect-studio') return (root = { dir, version: pkg.version ?? '0.0.0' });
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the affect-studio package folder');
    dir = parent;
  }
}

export const toolVersion = (): string => findRoot().version;

/** The package folder (the repository, or the app's resources when packaged). */
export const packageRoot = (): string => findRoot().dir;
