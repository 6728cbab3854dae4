/**
 * Turns the paths a user gives (files and folders) into the list of videos to process, and gives
 * each an output name that cannot collide with another's.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';

export const VIDEO_EXTENSIONS = new Set(['.mp4', '.mov', '.m4v', '.avi', '.mkv', '.webm', '.mpg', '.mpeg', '.wmv', '.flv', '.3gp', '.mts', '.m2ts', '.ts', '.ogv']);

export interface InputProblem {
  path: string;
  message: string;
}

export interface VideoInput {
  file: string;
  /** Output file name stem, unique within the batch. */
  stem: string;
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else if (entry.isFile() && VIDEO_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) out.push(p);
  }
}

/**
 * Files named explicitly are always taken (a wrong one is then reported by the probe, clearly);
 * folders are walked recursively for files with a video extension.
 */
export function collectVideos(inputs: string[]): { videos: VideoInput[]; problems: InputProblem[] } {
  const files: string[] = [];
  const problems: InputProblem[] = [];
  for (const input of inputs) {
    let st;
    try {
      st = statSync(input);
    } catch {
      problems.push({ path: input, message: 'does not exist' });
      continue;
    }
    if (st.isDirectory()) {
      const found: string[] = [];
      walk(input, found);
      if (!found.length) problems.push({ path: input, message: `folder holds no video files (${[...VIDEO_EXTENSIONS].join(' ')})` });
      files.push(...found);
    } else files.push(input);
  }
  const unique = [...new Set(files.map((f) => path.resolve(f)))];
  return { videos: assignStems(unique), problems };
}

/** `clip.mp4` → `clip`; two different `clip.mp4` in one batch get a short hash of their folder. */
export function assignStems(files: string[]): VideoInput[] {
  const base = (f: string): string => path.basename(f, path.extname(f));
  const counts = new Map<string, number>();
  for (const f of files) counts.set(base(f), (counts.get(base(f)) ?? 0) + 1);
  return files.map((file) => {
    const b = base(file);
    const stem = (counts.get(b) ?? 0) > 1 ? `${b}-${createHash('sha256').update(path.dirname(file)).digest('hex').slice(0, 6)}` : b;
    return { file, stem };
  });
}
