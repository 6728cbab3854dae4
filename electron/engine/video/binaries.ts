/**
 * Locates ffmpeg and ffprobe: an explicit path (flag or setting) first, then the environment
 * (AFFECT_STUDIO_FFMPEG / AFFECT_STUDIO_FFPROBE), then the binaries bundled through npm.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { UserError } from '../../../common/errors.js';

export interface VideoTools {
  ffmpeg: string;
  ffprobe: string;
}

/** Inside a packaged app, binaries are unpacked next to the asar archive, never inside it. */
export function unpackedPath(p: string): string {
  return p.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
}

function bundled(pkg: '@ffmpeg-installer/ffmpeg' | '@ffprobe-installer/ffprobe'): string | undefined {
  try {
    const mod = createRequire(import.meta.url)(pkg) as { path: string };
    return unpackedPath(mod.path);
  } catch {
    return undefined;
  }
}

function checkExecutable(tool: string, file: string, source: string): string {
  if (!existsSync(file)) {
    throw new UserError(`${tool} not found at ${file} (${source})`, `install it or point --${tool} / AFFECT_STUDIO_${tool.toUpperCase()} at a working ${tool}`);
  }
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new UserError(`${tool} at ${file} is not executable (${source})`, `run \`chmod +x ${file}\``);
  }
  verifyTool(tool, file, source);
  return file;
}

const verified = new Set<string>();

/**
 * Runs `<tool> -version` once per binary: a program that is not ffmpeg (or is broken) is named
 * here, instead of every video it fails on being blamed for it later.
 */
function verifyTool(tool: string, file: string, source: string): void {
  if (verified.has(file)) return;
  let out = '';
  try {
    out = execFileSync(file, ['-version'], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 20 });
  } catch (err) {
    const e = err as { status?: number | null; code?: string; signal?: string };
    const why = e.code === 'ETIMEDOUT' || e.signal ? 'it did not answer within 15 s' : e.code && typeof e.code === 'string' ? e.code : `it exited with status ${e.status}`;
    throw new UserError(`${tool} at ${file} does not work (\`${tool} -version\` failed: ${why}) (${source})`, `point --${tool} / AFFECT_STUDIO_${tool.toUpperCase()} at a working ${tool}`);
  }
  if (!out.startsWith(`${tool} version`)) {
    throw new UserError(`${file} is not ${tool} (\`${tool} -version\` printed ${out.trim() ? `"${out.trim().split('\n')[0].slice(0, 60)}"` : 'nothing'}) (${source})`, `point --${tool} / AFFECT_STUDIO_${tool.toUpperCase()} at a working ${tool}`);
  }
  verified.add(file);
}

export function resolveVideoTools(overrides: Partial<VideoTools> = {}): VideoTools {
  const pick = (tool: 'ffmpeg' | 'ffprobe', pkg: '@ffmpeg-installer/ffmpeg' | '@ffprobe-installer/ffprobe'): string => {
    if (overrides[tool]) return checkExecutable(tool, overrides[tool] as string, `--${tool}`);
    const env = process.env[`AFFECT_STUDIO_${tool.toUpperCase()}`];
    if (env) return checkExecutable(tool, env, `AFFECT_STUDIO_${tool.toUpperCase()}`);
    const b = bundled(pkg);
    if (!b) throw new UserError(`no bundled ${tool} for ${process.platform}-${process.arch}`, `install ${tool} and pass --${tool} <path>`);
    return checkExecutable(tool, b, pkg);
  };
  return { ffmpeg: pick('ffmpeg', '@ffmpeg-installer/ffmpeg'), ffprobe: pick('ffprobe', '@ffprobe-installer/ffprobe') };
}
