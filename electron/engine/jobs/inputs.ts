/**
 * Turns the paths a user gives (files and folders) into the list of videos to process, and gives
 * each an output name that cannot collide with another's.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
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
  /** Why the stem is not the file's own name (another input has the same name). */
  renamed?: string;
}

const isVideoName = (name: string): boolean => VIDEO_EXTENSIONS.has(path.extname(name).toLowerCase());

/**
 * Video files below `dir`. Symbolic links are followed (to files and to folders, each real folder
 * walked once, so a link loop ends); a broken link or an unreadable folder is reported.
 */
function walk(dir: string, out: string[], problems: InputProblem[], seen: Set<string>): void {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    real = dir;
  }
  if (seen.has(real)) return;
  seen.add(real);
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    problems.push({ path: dir, message: `folder cannot be read (${(err as NodeJS.ErrnoException).code})` });
    return;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const p = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      let st;
      try {
        st = statSync(p);
      } catch {
        if (isVideoName(entry.name)) problems.push({ path: p, message: 'is a broken symbolic link (its target does not exist)' });
        continue;
      }
      if (st.isDirectory()) walk(p, out, problems, seen);
      else if (st.isFile() && isVideoName(entry.name)) out.push(p);
    } else if (entry.isDirectory()) walk(p, out, problems, seen);
    else if (entry.isFile() && isVideoName(entry.name)) out.push(p);
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
      walk(input, found, problems, new Set());
      if (!found.length) problems.push({ path: input, message: `folder holds no video files (${[...VIDEO_EXTENSIONS].join(' ')})` });
      files.push(...found);
    } else files.push(input);
  }
  const unique = [...new Set(files.map((f) => path.resolve(f)))];
  return { videos: assignStems(unique), problems };
}

/**
 * `clip.mp4` → `clip`. Inputs that share a name (`a/clip.mp4` and `b/clip.mp4`, or `d/clip.mp4` and
 * `d/clip.mov`) each get a short hash of their full path: `clip-1a2b3c`. Names are compared
 * ignoring case (macOS and Windows folders do), and the result never equals another input's name;
 * `taken` holds names already used in the output folder by other files.
 */
export function assignStems(files: string[], taken: Iterable<string> = []): VideoInput[] {
  const base = (f: string): string => path.basename(f, path.extname(f));
  const key = (s: string): string => s.toLowerCase();
  const counts = new Map<string, number>();
  for (const f of files) counts.set(key(base(f)), (counts.get(key(base(f))) ?? 0) + 1);
  const used = new Set([...taken].map(key));
  const keeps = new Set(files.filter((f) => counts.get(key(base(f))) === 1 && !used.has(key(base(f)))));
  for (const f of keeps) used.add(key(base(f)));
  return files.map((file) => {
    const b = base(file);
    if (keeps.has(file)) return { file, stem: b };
    const hash = createHash('sha256').update(path.resolve(file)).digest('hex');
    let stem = `${b}-${hash.slice(0, 6)}`;
    for (let n = 8; used.has(key(stem)); n += 2) stem = n <= hash.length ? `${b}-${hash.slice(0, n)}` : `${b}-${hash.slice(0, 6)}-${n}`;
    used.add(key(stem));
    return { file, stem, renamed: `written as ${stem}: another input${counts.get(key(b)) === 1 ? ' of an earlier run in this folder' : ''} is also named ${b}` };
  });
}
