/**
 * Locates ffmpeg and ffprobe: an explicit path (flag or setting) first, then the environment
 * (AFFECT_STUDIO_FFMPEG / AFFECT_STUDIO_FFPROBE), then the binaries bundled through npm.
 */
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
  return file;
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
