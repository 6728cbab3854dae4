/**
 * Installed model bundles: `<data>/bundles/<id>@<version>/`, plus `default.json` naming the default.
 * The starter bundle is always available (built on demand) and is the default until a trained
 * temporal bundle is installed.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { dataRoot, writeFileAtomic } from '../../common/node/storage.js';
import { fileError } from '../../common/node/fs-errors.js';
import { BundleError, loadAnyBundle, MANIFEST_NAME, type LoadedBundle, type LoadedEnsemble } from './manifest.js';
import { ensureStarterBundle, STARTER_ID } from '../starter/starter-bundle.js';

export const bundlesDir = (): string => path.join(dataRoot(), 'bundles');

/**
 * How an installed bundle is named: `<id>@<version>`, or `<id>` for its newest version. A
 * reference is a name inside the store, never a path (`..` or a separator cannot pass).
 */
const BUNDLE_REF = /^[a-z0-9][a-z0-9._-]*(@[a-z0-9][a-z0-9.+_-]*)?$/i;
export const isBundleRef = (ref: string): boolean => BUNDLE_REF.test(ref) && ref.length <= 200;
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
      if (name.startsWith('.')) continue; // installs in progress, old copies being replaced
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
 * Copies a bundle folder into the store. Atomic: the copy is staged beside the store's bundles,
 * checked (manifest, files, model hash), and only then takes the place of an installed copy of
 * the same id and version, which stays until the new one is known good. A failed install leaves
 * the store as it was. A trained temporal bundle becomes the default unless `makeDefault` is false.
 */
export function installBundle(src: string, makeDefault?: boolean): (LoadedBundle | LoadedEnsemble) & { ref: string } {
  const b = loadAnyBundle(src);
  const ref = `${b.manifest.id}@${b.manifest.version}`;
  if (!isBundleRef(ref) || !ref.includes('@')) {
    throw new BundleError(`field "version": "${b.manifest.version}" cannot name a folder (letters, digits, ".", "+", "-", "_")`, path.join(src, MANIFEST_NAME));
  }
  const root = bundlesDir();
  const dest = path.join(root, ref);
  const stamp = `${process.pid}-${Date.now()}`;
  const staging = path.join(root, `.staging-${ref}-${stamp}`);
  const old = path.join(root, `.old-${ref}-${stamp}`);
  try {
    mkdirSync(root, { recursive: true });
    cpSync(src, staging, { recursive: true });
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw fileError(err, staging, 'copy the bundle into the store');
  }
  try {
    loadAnyBundle(staging); // the copy is complete and intact
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  const replacing = existsSync(dest);
  try {
    if (replacing) renameSync(dest, old);
    renameSync(staging, dest);
  } catch (err) {
    if (replacing && !existsSync(dest) && existsSync(old)) renameSync(old, dest);
    rmSync(staging, { recursive: true, force: true });
    throw fileError(err, dest, 'install the bundle');
  }
  rmSync(old, { recursive: true, force: true });
  if (makeDefault ?? b.manifest.kind !== 'starter') setDefaultBundle(ref);
  return { ...loadAnyBundle(dest), ref };
}

/** Removes an installed bundle, named as `bundles list` shows it: only ever a folder of the store. */
export function removeBundle(ref: string): void {
  if (!isBundleRef(ref)) throw new BundleError(`"${ref.slice(0, 80)}" is not a bundle id (id or id@version, as \`affect-studio bundles list\` shows)`, bundlesDir(), 'give the id of an installed bundle, not a path');
  const installed = installedBundles().filter((b) => b.ref === ref || b.ref.startsWith(`${ref}@`));
  if (!installed.length) throw new BundleError(`no installed bundle "${ref}"`, bundlesDir(), 'see `affect-studio bundles list`');
  if (installed.length > 1) throw new BundleError(`"${ref}" names ${installed.length} installed versions (${installed.map((b) => b.ref).join(', ')})`, bundlesDir(), 'give id@version');
  const { dir, ref: full } = installed[0];
  rmSync(dir, { recursive: true, force: true });
  if (defaultRef() === full) rmSync(defaultFile(), { force: true });
}

/**
 * A bundle reference → its folder: a path to a bundle folder, "starter", an installed
 * `<id>@<version>`, or an installed `<id>` (its newest version).
 */
export function resolveBundleDir(ref: string): string {
  if (ref === STARTER_ID) return ensureStarterBundle();
  if (existsSync(path.join(ref, MANIFEST_NAME)) || ref.includes('/') || ref.includes(path.sep)) return path.resolve(ref);
  return installedBundleDir(ref);
}

/** An installed bundle's folder (`<id>@<version>`, or `<id>`: its newest version); never a path. */
export function installedBundleDir(ref: string): string {
  if (ref === STARTER_ID) return ensureStarterBundle();
  const installed = isBundleRef(ref) ? installedBundles().filter((b) => b.ref === ref || b.ref.startsWith(`${ref}@`)) : [];
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
