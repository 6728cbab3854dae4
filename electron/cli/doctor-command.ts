/**
 * `affect-studio doctor`: what this machine offers the pipeline — the execution providers that
 * work here and the one `--ep auto` picks (and why), the thread layout, and the video tools.
 */
import os from 'node:os';
import { Command } from 'commander';
import { probeProviders } from '../engine/onnx/sessions.js';
import { runtimeLayout } from '../engine/features/pipeline.js';
import { resolveVideoTools } from '../engine/video/binaries.js';
import { describeError } from '../../common/errors.js';

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('Show the execution providers that work on this machine, the one --ep auto picks and why, threads, and the video tools.')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { json?: boolean }) => {
      const { providers, auto, why } = await probeProviders();
      const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
      const layout = runtimeLayout({}, cores);
      let tools: { ffmpeg: string; ffprobe: string } | { error: string };
      try {
        tools = resolveVideoTools();
      } catch (err) {
        tools = { error: describeError(err) };
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ providers, auto, why, cores, layout, tools }, null, 2)}\n`);
        return;
      }
      const out: string[] = ['execution providers (ONNX Runtime):'];
      for (const p of providers) out.push(`  ${p.usable ? '✓' : '✗'} ${p.provider.padEnd(7)} ${p.usable ? 'works' : p.reason}${p.bundled ? '' : ' (not in this build)'}`);
      out.push(`--ep auto → ${auto} (${why})`);
      out.push(`CPU: ${cores} core(s); by default the extractors run in ${layout.workers} worker thread(s) beside the tracking, ${layout.threads} ONNX Runtime thread(s) per model call (--threads)`);
      out.push('error' in tools ? `video tools: ${tools.error}` : `video tools: ffmpeg ${tools.ffmpeg}, ffprobe ${tools.ffprobe}`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
