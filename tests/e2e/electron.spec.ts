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
    // sandboxed, isolated page: no Node, no Electron objects, only the two bridge functions
    const page = await window.evaluate(() => ({
      require: typeof (globalThis as { require?: unknown }).require,
      process: typeof (globalThis as { process?: unknown }).process,
      bridge: Object.keys((window as unknown as { affectStudio: object }).affectStudio).sort(),
      origin: (globalThis as unknown as { location: { origin: string } }).location.origin,
    }));
    expect(page).toEqual({ require: 'undefined', process: 'undefined', bridge: ['invoke', 'on'], origin: 'app://bundle' });
    const info = await window.evaluate(() => (window as unknown as { affectStudio: { invoke(m: string, a: unknown): Promise<{ mode: string }> } }).affectStudio.invoke('app.info', {}));
    expect(info.mode).toBe('electron');
    await app.close();
  });
});
