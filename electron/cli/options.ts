/** Argument parsers and options shared by the CLI commands. */
import { accessSync, constants, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { EXECUTION_PROVIDERS } from '../engine/onnx/sessions.js';
import { UserError } from '../engine/errors.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected seconds ≥ 0 (e.g. 12.5)');
  return n;
}

export function probability(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number between 0 and 1');
  return n;
}

/** --ep, --threads, --ffmpeg, --ffprobe: every command that runs models on video has them. */
export function addRuntimeOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--ep <provider>', 'where models run: auto tries the GPU (CUDA / DirectML / CoreML, then WebGPU) and falls back to the CPU')
      .choices([...EXECUTION_PROVIDERS]).default('auto'))
    .option('--threads <n>', 'CPU threads ONNX Runtime may use (default: all cores)', positiveInt)
    .option('--ffmpeg <path>', 'ffmpeg to decode with (default: $AFFECT_STUDIO_FFMPEG, else the bundled one)')
    .option('--ffprobe <path>', 'ffprobe to read video metadata with (default: $AFFECT_STUDIO_FFPROBE, else the bundled one)');
}

/** Creates the output folder and proves it is writable before any work starts. */
export function ensureWritableDir(dir: string): string {
  const abs = path.resolve(dir);
  try {
    mkdirSync(abs, { recursive: true });
    accessSync(abs, constants.W_OK);
    const probe = path.join(abs, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    throw new UserError(`cannot write to the output folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'choose another --out folder, or fix its permissions', abs);
  }
  return abs;
}
