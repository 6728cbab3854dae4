import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  // relative asset paths: the desktop app loads the page from a file
  base: './',
  plugins: [svelte()],
  build: { outDir: path.join(here, '../dist/renderer'), emptyOutDir: true, sourcemap: true },
});
