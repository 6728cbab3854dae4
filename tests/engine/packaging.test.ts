import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { unpackedPath } from '../../electron/engine/video/binaries.js';
import { repoRoot, tools } from '../helpers/fixtures.js';

const require = createRequire(import.meta.url);
const { minimatch } = require('minimatch') as { minimatch: (p: string, pattern: string, o?: object) => boolean };
const config = JSON.parse(readFileSync(path.join(repoRoot, 'build/electron-builder.json'), 'utf8')) as { asarUnpack: string[]; files: string[] };

describe('packaged app: native code and ffmpeg outside the asar archive', () => {
  it('maps paths inside app.asar to app.asar.unpacked, and leaves others alone', () => {
    expect(unpackedPath('/opt/Affect Studio/resources/app.asar/node_modules/@ffmpeg-installer/linux-x64/ffmpeg'))
      .toBe('/opt/Affect Studio/resources/app.asar.unpacked/node_modules/@ffmpeg-installer/linux-x64/ffmpeg');
    expect(unpackedPath('C:\\Program Files\\Affect Studio\\resources\\app.asar\\node_modules\\@ffprobe-installer\\win32-x64\\ffprobe.exe'))
      .toBe('C:\\Program Files\\Affect Studio\\resources\\app.asar.unpacked\\node_modules\\@ffprobe-installer\\win32-x64\\ffprobe.exe');
    expect(unpackedPath('/home/me/affect-studio/node_modules/@ffmpeg-installer/linux-x64/ffmpeg')).toBe('/home/me/affect-studio/node_modules/@ffmpeg-installer/linux-x64/ffmpeg');
    expect(unpackedPath('/data/app.asar.unpacked/x')).toBe('/data/app.asar.unpacked/x');
  });

  it('unpacks every binary the engine runs (electron-builder asarUnpack patterns)', () => {
    const binaries = [
      tools.ffmpeg,
      tools.ffprobe,
      path.join(path.dirname(require.resolve('onnxruntime-node')), '../bin/napi-v6/linux/x64/onnxruntime_binding.node'),
      path.join(path.dirname(require.resolve('onnxruntime-node')), '../bin/napi-v6/linux/x64/libonnxruntime.so.1'),
      // the other platforms' packages, as they are laid out
      'node_modules/@ffmpeg-installer/win32-x64/ffmpeg.exe',
      'node_modules/@ffprobe-installer/darwin-arm64/ffprobe',
      'node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime.dll',
    ];
    for (const b of binaries) {
      const rel = path.isAbsolute(b) ? path.relative(repoRoot, b) : b;
      expect(config.asarUnpack.some((p) => minimatch(rel, p, { dot: true })), rel).toBe(true);
    }
  });

  it('ships the built app and the UI', () => {
    expect(config.files).toContain('dist/**/*');
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { main: string };
    expect(pkg.main).toBe('dist/electron/shell/main.js');
  });
});
