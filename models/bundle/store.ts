/**
 * Installed model bundles: `<data>/bundles/<id>@<version>/`, plus `default.json` naming the default.
 * The starter bundle is always available (built on demand) and is the default until a trained
 * temporal bundle is installed.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { dataRoot, writeFileAtomic } from '../../common/node/storage.js';
import { BundleError, loadAnyBundle, MANIFEST_NAME, type LoadedBundle, type LoadedEnsemble } from './manifest.js';
import { ensureStarterBundle, STARTER_ID } from '../starter/starter-bundle.js';

export const bundlesDir = (): string => path.join(dataRoot(), 'bundles');
const defaultFile = (): string => path.join(bundlesDir(), 'default.json');

export interface InstalledBundle {
  ref: string;
  dir: string;
  kind: string;
  description: string;
  isDefault: boolean;
}

export function installedBundles(): InstalledBundle[] {
  const dir = bundlesDir();
  const def = defaultRef();
  const list: InstalledBundle[] = [];
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (!existsSync(path.join(p, MANIFEST_NAME))) continue;
      try {
        const b = loadAnyBundle(p);
        list.push({ ref: name, dir: p, kind: b.manifest.kind, description: b.manifest.description, isDefault: def === name });
      } catch (err) {
        list.push({ ref: name, dir: p, kind: 'broken', description: (err as Error).message, isDefault: def === name });
      }
    }
  }
  return list;
}

function defaultRef(): string {
  try {
    return (JSON.parse(readFileSync(defaultFile(), 'utf8')) as { ref: string }).ref;
  } catch {
    return STARTER_ID;
  }
}

export function setDefaultBundle(ref: string): void {
  if (ref !== STARTER_ID) resolveBundleDir(ref);
  mkdirSync(bundlesDir(), { recursive: true });
  writeFileAtomic(defaultFile(), `${JSON.stringify({ ref }, null, 2)}\n`);
}

/**
 * Copies a bundle folder into the store (validating it first). A trained temporal bundle becomes
 * the default unless `makeDefault` is false.
 */
export function installBundle(src: string, makeDefault?: boolean): (LoadedBundle | LoadedEnsemble) & { ref: string } {
  const b = loadAnyBundle(src);
  const ref = `${b.manifest.id}@${b.manifest.version}`;
  const dest = path.join(bundlesDir(), ref);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(bundlesDir(), { recursive: true });
  cpSync(src, dest, { recursive: true });
  if (makeDefault ?? b.manifest.kind !== 'starter') setDefaultBundle(ref);
  return { ...loadAnyBundle(dest), ref };
}

export function removeBundle(ref: string): void {
  const dir = path.join(bundlesDir(), ref);
  if (!existsSync(dir)) throw new BundleError(`no installed bundle "${ref}"`, bundlesDir(), 'see `affect-studio bundles list`');
  rmSync(dir, { recursive: true, force: true });
  if (defaultRef() === ref) rmSync(defaultFile(), { force: true });
}

/**
 * A bundle reference → its folder: a path to a bundle folder, "starter", an installed
 * `<id>@<version>`, or an installed `<id>` (its newest version).
 */
export function resolveBundleDir(ref: string): string {
  if (ref === STARTER_ID) return ensureStarterBundle();
  if (existsSync(path.join(ref, MANIFEST_NAME)) || ref.includes('/') || ref.includes(path.sep)) return path.resolve(ref);
  const installed = installedBundles().filter((b) => b.ref === ref || b.ref.startsWith(`${ref}@`));
  if (!installed.length) throw new BundleError(`no bundle "${ref}" (neither a folder with ${MANIFEST_NAME} nor an installed bundle)`, ref, 'see `affect-studio bundles list`');
  return installed[installed.length - 1].dir;
}

export function defaultBundleDir(): string {
  const ref = defaultRef();
  try {
    return resolveBundleDir(ref);
  } catch {
    return ensureStarterBundle(); // the default was removed by hand
  }
}
