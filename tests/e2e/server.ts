/** Starts the real `affect-studio serve` (built CLI) with its own project, data and cache folders. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const repo = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(repo, 'dist/electron/cli/main.js');
/** The team's other clips (HEVC .mov), when this machine has them. */
export const shared = path.resolve(repo, '../shared');
/** The sample clips shipped in the repository (samples/README.md). */
export const samples = path.join(repo, 'samples');
export const CHROMIUM = process.env.AFFECT_STUDIO_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

export interface Served {
  url: string;
  origin: string;
  token: string;
  dir: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function serve(dir = mkdtempSync(path.join(os.tmpdir(), 'as-e2e-'))): Promise<Served> {
  const env = {
    ...process.env,
    AFFECT_STUDIO_DATA: path.join(dir, 'data'),
    AFFECT_STUDIO_CACHE: process.env.AFFECT_STUDIO_CACHE ?? path.join(os.tmpdir(), 'affect-studio-test-cache'),
  };
  // the browser may use the temp folder (fixtures, outputs) and the repository (samples)
  const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--project', path.join(dir, 'project'), '--root', os.tmpdir(), '--root', repo, ...(existsSync(shared) ? ['--root', shared] : [])], { env });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 60_000);
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('exit', (code) => reject(new Error(`serve exited (${code}): ${out}`)));
  });
  const u = new URL(url);
  return {
    url, origin: u.origin, token: u.searchParams.get('token') as string, dir, proc,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    }),
  };
}
