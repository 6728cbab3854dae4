/**
 * Runs the command line in this process (`node rss-child.js <result.json> <affect-studio args…>`)
 * and writes its peak memory: the command's own, its worker threads included, ffmpeg not.
 */
import { writeFileSync } from 'node:fs';

const [resultFile, ...args] = process.argv.slice(2);
process.argv = [process.argv[0], 'affect-studio', ...args];
process.on('exit', (code) => {
  // maxRSS is in KiB
  writeFileSync(resultFile, JSON.stringify({ code: process.exitCode ?? code, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
});
await import('../../electron/cli/main.js');
