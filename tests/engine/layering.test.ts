/**
 * The dependency arrows point one way (DESIGN.md §1): renderer → API contract ← shell/server → api →
 * engine → models → common. Every import of every source file is checked against the rules below,
 * so a forbidden import fails here instead of quietly bending the layering.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

type Layer = 'common' | 'common/node' | 'models' | 'engine' | 'api' | 'server' | 'shell' | 'cli' | 'renderer';

/** The layer of a repository path, or undefined outside the source folders. */
export function layerOf(file: string): Layer | undefined {
  const p = file.split(path.sep).join('/');
  if (p.startsWith('common/node/')) return 'common/node';
  if (p.startsWith('common/')) return 'common';
  if (p.startsWith('models/')) return 'models';
  if (p.startsWith('electron/engine/')) return 'engine';
  if (p.startsWith('electron/api/')) return 'api';
  if (p.startsWith('electron/server/')) return 'server';
  if (p.startsWith('electron/shell/')) return 'shell';
  if (p.startsWith('electron/cli/')) return 'cli';
  if (p.startsWith('renderer/src/')) return 'renderer';
  return undefined;
}

/** Which layers each layer may import from (besides itself). */
const MAY_IMPORT: Record<Layer, Layer[]> = {
  common: [],
  'common/node': ['common'],
  models: ['common', 'common/node'],
  engine: ['common', 'common/node', 'models'],
  api: ['common', 'common/node', 'models', 'engine'],
  server: ['common', 'common/node', 'models', 'engine', 'api'],
  shell: ['common', 'common/node', 'models', 'engine', 'api'],
  cli: ['common', 'common/node', 'models', 'engine', 'api', 'server'],
  renderer: ['common'],
};

/** Code that may run in a browser: no Node built-ins, no native packages. */
const ENVIRONMENT_NEUTRAL: Layer[] = ['common', 'renderer'];
const NATIVE_PACKAGES = ['onnxruntime-node', '@ffmpeg-installer/ffmpeg', '@ffprobe-installer/ffprobe', '@tensorflow/tfjs', 'ws', 'csv-parse', 'csv-stringify'];
/** The one file of the API layer the renderer may import: the typed contract. */
const RENDERER_MAY_IMPORT_FILES = ['electron/api/contract.ts'];

/** Why importing `spec` from `file` breaks the layering, or null when it is allowed. */
export function violation(file: string, spec: string): string | null {
  const from = layerOf(file);
  if (!from) return null;
  const isBuiltin = spec.startsWith('node:');
  if (spec === 'electron' && from !== 'shell') return 'only electron/shell may import the electron package';
  if (!spec.startsWith('.')) {
    if (ENVIRONMENT_NEUTRAL.includes(from) && (isBuiltin || NATIVE_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`)))) return `${from} code runs in a browser too: no ${spec}`;
    return null;
  }
  const target = path.normalize(path.join(path.dirname(file), spec)).replace(/\.js$/, '.ts');
  const to = layerOf(target);
  if (!to || to === from) return null;
  if (from === 'renderer' && RENDERER_MAY_IMPORT_FILES.includes(target.split(path.sep).join('/'))) return null;
  return MAY_IMPORT[from].includes(to) ? null : `${from} must not import ${to} (${target})`;
}

const IMPORT = /(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;

export function importsOf(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|cts|mts|svelte)$/.test(e.name) && !e.parentPath.includes('node_modules'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

describe('layering', () => {
  it('the rule catches what it should (a check that can fail)', () => {
    expect(violation('electron/engine/jobs/x.ts', '../../api/contract.js')).toMatch(/engine must not import api/);
    expect(violation('models/train/x.ts', '../../electron/engine/errors.js')).toMatch(/models must not import engine/);
    expect(violation('common/labels.ts', 'node:fs')).toMatch(/runs in a browser/);
    expect(violation('common/x.ts', './node/storage.js')).toMatch(/common must not import common\/node/);
    expect(violation('renderer/src/lib/a.ts', '../../../models/labels.js')).toMatch(/renderer must not import models/);
    expect(violation('renderer/src/lib/a.ts', '../../../electron/api/service.js')).toMatch(/renderer must not import api/);
    expect(violation('renderer/src/lib/a.ts', '../../../electron/api/contract.js')).toBeNull();
    expect(violation('electron/engine/video/decode.ts', 'electron')).toMatch(/only electron\/shell/);
    expect(violation('electron/engine/a.ts', '../../common/node/storage.js')).toBeNull();
    expect(importsOf("import { a } from './a.js';\nexport type { B } from '../b.js';\nconst c = await import('./c.js');\nimport './d.css';")).toEqual(['./a.js', '../b.js', './c.js', './d.css']);
  });

  it('no source file imports across the layers the wrong way', () => {
    const files = ['common', 'models', 'electron', 'renderer'].flatMap(sourceFiles);
    expect(files.length).toBeGreaterThan(100);
    const bad = files.flatMap((f) => importsOf(readFileSync(path.join(ROOT, f), 'utf8')).map((spec) => [f, violation(f, spec)] as const).filter(([, v]) => v).map(([file, v]) => `${file}: ${v}`));
    expect(bad).toEqual([]);
  });
});
