/**
 * How the work is spread over the cores: the default layout, `affect-studio doctor`, and the
 * promise that the extractor workers change the speed and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { freshDir, twoFaceVideo } from '../helpers/fixtures.js';
import { runtimeLayout } from '../../electron/engine/features/pipeline.js';

describe('the default thread layout', () => {
  it('gives the extractors a worker only where a core is left for it, and sizes ONNX Runtime threads to the rest', () => {
    expect(runtimeLayout({}, 1)).toEqual({ workers: 0, threads: 1 });
    expect(runtimeLayout({}, 2)).toEqual({ workers: 1, threads: 1 });
    expect(runtimeLayout({}, 3)).toEqual({ workers: 1, threads: 1 });
    expect(runtimeLayout({}, 4)).toEqual({ workers: 2, threads: 1 });
    expect(runtimeLayout({}, 16)).toEqual({ workers: 2, threads: 5 });
    // what the user asks for wins
    expect(runtimeLayout({ workers: 0 }, 2)).toEqual({ workers: 0, threads: 2 });
    expect(runtimeLayout({ workers: 3, threads: 4 }, 2)).toEqual({ workers: 3, threads: 4 });
  });
});

describe('affect-studio doctor', () => {
  it('lists the providers, says which one auto picks and why, and the layout of this machine', async () => {
    const r = await runCli(['doctor', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      providers: { provider: string; usable: boolean; reason?: string }[]; auto: string; why: string; cores: number;
      layout: { workers: number; threads: number }; tools: { ffmpeg?: string; error?: string };
    };
    const cpu = report.providers.find((p) => p.provider === 'cpu');
    expect(cpu?.usable).toBe(true);
    // every provider that does not work says why
    for (const p of report.providers.filter((q) => !q.usable)) expect(p.reason, p.provider).toMatch(/\w{4}/);
    expect(report.providers.find((p) => p.provider === report.auto)?.usable).toBe(true);
    expect(report.why).toMatch(/first usable in linux's order/);
    expect(report.cores).toBe(Math.max(1, os.availableParallelism()));
    expect(report.layout).toEqual(runtimeLayout({}, report.cores));
    expect(report.tools.ffmpeg).toBeTruthy();

    const text = await runCli(['doctor']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/✓ cpu +works/);
    expect(text.stdout).toContain(`--ep auto → ${report.auto}`);
    expect(text.stdout).toMatch(/extractors run in \d worker thread/);
  }, 120_000);
});

describe('extractors in worker threads', () => {
  it('write the same bytes as extractors in the tracking thread (two faces, every default extractor and gaze)', async () => {
    const video = twoFaceVideo();
    const outs: Record<string, string> = {};
    for (const workers of ['0', '1', '2']) {
      const out = freshDir(`workers-${workers}`);
      const r = await runCli(['features', video, '--out', out, '--no-cache', '--ep', 'cpu', '-x', 'expression,faceres,landmarks,gaze', '--workers', workers]);
      expect(r.code, r.stderr).toBe(0);
      outs[workers] = out;
    }
    const files = readdirSync(outs['0']).filter((f) => !f.endsWith('.features.json')).sort();
    expect(files).toEqual(expect.arrayContaining([expect.stringMatching(/\.faces\.csv$/), expect.stringMatching(/\.features\.npy$/)]));
    for (const workers of ['1', '2']) {
      for (const f of files) expect(readFileSync(path.join(outs[workers], f)).equals(readFileSync(path.join(outs['0'], f))), `${f} with --workers ${workers}`).toBe(true);
    }
    // and there were faces to extract from: the comparison is not between two empty tables
    const rows = readFileSync(path.join(outs['0'], files.find((f) => f.endsWith('.faces.csv'))!), 'utf8').trim().split('\n');
    expect(rows.length).toBeGreaterThan(20);
  }, 600_000);
});
