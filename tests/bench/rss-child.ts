/** Runs the whole features pipeline on one video in a fresh process and reports its peak memory. */
import { DEFAULT_FACE_SETTINGS } from '../../electron/engine/features/face-settings.js';
import { FeaturePipeline } from '../../electron/engine/features/pipeline.js';
import { resolveVideoTools } from '../../electron/engine/video/binaries.js';

const [file, outDir] = process.argv.slice(2);
const pipeline = await FeaturePipeline.create({ tools: resolveVideoTools(), face: DEFAULT_FACE_SETTINGS, cacheDir: false });
const r = await pipeline.run(file, { outDir, stem: 'rss' });
// maxRSS is in KiB
console.log(JSON.stringify({ frames: r.frames, seconds: r.seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
