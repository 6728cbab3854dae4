/**
 * `affect-studio bundles`: list, install, choose the default, remove model bundles.
 */
import { Command } from 'commander';
import { loadAnyBundle } from '../../models/bundle/manifest.js';
import { defaultBundleDir, installBundle, installedBundles, removeBundle, resolveBundleDir, setDefaultBundle } from '../../models/bundle/store.js';
import { ensureStarterBundle } from '../../models/starter/starter-bundle.js';

export function bundlesCommand(): Command {
  const cmd = new Command('bundles').description('Manage model bundles (format: docs/bundles.md).');
  cmd.command('list')
    .description('list installed bundles; * marks the default')
    .action(() => {
      const def = defaultBundleDir();
      const starter = ensureStarterBundle();
      const rows = [{ ref: 'starter', kind: 'starter', description: loadAnyBundle(starter).manifest.description, dir: starter }, ...installedBundles()];
      for (const r of rows) process.stdout.write(`${r.dir === def ? '*' : ' '} ${r.ref.padEnd(28)} ${r.kind.padEnd(9)} ${r.description}\n`);
    });
  cmd.command('install')
    .description('copy a bundle folder into the store (a trained temporal bundle becomes the default unless --no-default)')
    .argument('<folder>', 'folder with bundle.json')
    .option('--no-default', 'do not make it the default')
    .option('--default', 'make it the default (also for starter-like bundles)')
    .action((folder: string, flags: { default?: boolean }) => {
      const b = installBundle(folder, flags.default);
      process.stdout.write(`installed ${b.ref} (${b.manifest.kind}) → ${b.dir}${defaultBundleDir() === b.dir ? ' — now the default' : ''}\n`);
    });
  cmd.command('default')
    .description('choose the default bundle ("starter" or an installed one)')
    .argument('<ref>', 'bundle id, id@version or "starter"')
    .action((ref: string) => {
      setDefaultBundle(ref);
      process.stdout.write(`default bundle: ${ref}\n`);
    });
  cmd.command('remove')
    .description('remove an installed bundle')
    .argument('<ref>', 'id@version as listed')
    .action((ref: string) => {
      removeBundle(ref);
      process.stdout.write(`removed ${ref}\n`);
    });
  cmd.command('show')
    .description('print a bundle\'s manifest (what it predicts, from which features, trained on what)')
    .argument('[ref]', 'bundle id, id@version, folder or "starter" (default: the default bundle)')
    .action((ref?: string) => {
      const dir = ref ? resolveBundleDir(ref) : defaultBundleDir();
      const b = loadAnyBundle(dir);
      process.stdout.write(`${JSON.stringify({ dir, hash: b.hash, ...b.manifest }, null, 2)}\n`);
    });
  return cmd;
}
