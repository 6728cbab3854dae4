#!/usr/bin/env node
// Runs after `npm ci`: fetches Electron's binary for the desktop app when the machine is online.
// Offline installs (CI, air-gapped lab servers) carry on without it: the command line and the web
// UI need no Electron, and `npx install-electron` fetches it later.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

if (process.env.AFFECT_STUDIO_SKIP_ELECTRON) process.exit(0);
let installer;
try {
  installer = path.join(path.dirname(createRequire(import.meta.url).resolve('electron/package.json')), 'install.js');
} catch {
  process.exit(0); // a production install without dev dependencies: no desktop shell to prepare
}
if (!existsSync(installer)) process.exit(0);
const r = spawnSync(process.execPath, [installer], { stdio: 'pipe', timeout: 180_000, encoding: 'utf8' });
if (r.status === 0) {
  console.log('affect-studio: Electron binary ready for the desktop app');
} else {
  const why = (r.stderr || r.error?.message || '').trim().split('\n')[0] || `exit ${r.status}`;
  console.log(`affect-studio: Electron binary not downloaded (${why}); the CLI works without it. Run \`npx install-electron\` when online to use the desktop app.`);
}
