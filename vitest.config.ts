import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/scratch/**', 'node_modules/**'],
    setupFiles: ['tests/setup.ts'],
    // Model conversion, ffmpeg and ONNX Runtime work is real: give it time, and run files one at a
    // time-ish, since these machines have two cores.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
