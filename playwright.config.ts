import { defineConfig } from '@playwright/test';

/**
 * Browser tests of the UI in web mode, driven in Debian's Chromium (no browser download: these
 * machines cannot fetch one). Each spec starts its own `affect-studio serve` on a free port.
 */
export default defineConfig({
  testDir: 'tests/e2e',
  timeout: 180_000,
  workers: 1,
  reporter: [['list']],
  outputDir: 'test-results/playwright',
  use: {
    browserName: 'chromium',
    viewport: { width: 1400, height: 1000 },
    launchOptions: {
      executablePath: process.env.AFFECT_STUDIO_CHROMIUM ?? '/usr/bin/chromium',
      // closed network: no background connections; running as root in containers needs --no-sandbox
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    },
  },
});
