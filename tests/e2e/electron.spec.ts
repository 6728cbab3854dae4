import { _electron as electron, expect, test } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repo } from './server.js';

/** The Electron binary is downloaded on first use (online machines); offline machines have none. */
function electronBinary(): string | undefined {
  const dir = path.join(repo, 'node_modules/electron');
  const pathFile = path.join(dir, 'path.txt');
  if (!existsSync(pathFile)) return undefined;
  const bin = path.join(dir, 'dist', readFileSync(pathFile, 'utf8'));
  return existsSync(bin) ? bin : undefined;
}

const bin = electronBinary();

test.describe('desktop app (Electron)', () => {
  test.skip(!bin, 'no Electron binary on this machine (offline install; run `npx install-electron` online to enable)');

  test('opens with secure defaults and the same UI', async () => {
    const app = await electron.launch({ executablePath: bin, args: [path.join(repo, 'dist/electron/shell/main.js')] });
    const window = await app.firstWindow();
    await expect(window.getByTestId('video-name')).toHaveText('no video open');
    const prefs = await app.evaluate(({ BrowserWindow }) => {
      const w = BrowserWindow.getAllWindows()[0];
      const p = w.webContents.getLastWebPreferences() as { contextIsolation?: boolean; sandbox?: boolean; nodeIntegration?: boolean };
      return { contextIsolation: p.contextIsolation, sandbox: p.sandbox, nodeIntegration: p.nodeIntegration };
    });
    expect(prefs).toEqual({ contextIsolation: true, sandbox: true, nodeIntegration: false });
    expect(await window.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    await app.close();
  });
});
