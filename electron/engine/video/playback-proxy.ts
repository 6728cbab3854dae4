/**
 * Playback copies: when a browser cannot decode a video (HEVC, ProRes, unusual containers), the UI
 * plays an H.264 copy made here instead. The copy must stand in for the original frame by frame:
 *
 * - every frame keeps its original presentation time (`-vsync passthrough` and the source's time
 *   base for the encoder: a variable-frame-rate phone video is not resampled onto a fixed grid), so
 *   frame k of the copy is shown at the original's frame time k and the player's frame-accurate
 *   seeking, which uses the original's frame times, lands on the same picture;
 * - a keyframe at least every KEYFRAME_SECONDS, so seeking decodes little;
 * - no B-frames: with them the MP4 muxer's edit list hides the last frame of a variable-rate copy;
 * - yuv420p at even dimensions (what browsers decode), upright (ffmpeg applies the rotation), audio
 *   re-encoded to AAC (dropped when it cannot be), the index at the front (faststart) for streaming.
 *
 * Copies live in the cache, named by the video's content hash (`<cache>/proxies/<sha256:16>.mp4`),
 * written to a temporary file and renamed when complete. A small record per source path (its size
 * and modification time) finds an existing copy without hashing the video again.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../common/errors.js';
import { cacheRoot, writeFileAtomic } from '../../../common/node/storage.js';
import { fileSha256 } from '../features/cache.js';
import type { VideoTools } from './binaries.js';

/** Longest time between two keyframes of a copy, for frame rates of 20 fps and more. */
export const KEYFRAME_SECONDS = 0.5;
/**
 * A keyframe is forced on the first frame at least this long after the previous forced one; the
 * interval then ends up between this and this plus one frame interval (≤ KEYFRAME_SECONDS at ≥ 20 fps).
 */
const FORCE_AFTER_SECONDS = 0.45;

interface SourceRecord {
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}

export interface MakeCopyOptions {
  /** The original's frame count, for progress. */
  frames: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class PlaybackCopies {
  constructor(
    private readonly tools: VideoTools,
    readonly dir: string = path.join(cacheRoot(), 'proxies'),
  ) {}

  private recordFile(file: string): string {
    const key = createHash('sha1').update(path.resolve(file)).digest('hex').slice(0, 16);
    return path.join(this.dir, 'sources', `${key}.json`);
  }

  /** Where the copy of content with this hash lives. */
  copyPath(sha256: string): string {
    return path.join(this.dir, `${sha256.slice(0, 16)}.mp4`);
  }

  /** The copy of a video file when one exists for its current content (same path, size and modification time). */
  find(file: string): string | undefined {
    const record = this.recordFile(file);
    if (!existsSync(record)) return undefined;
    try {
      const r = JSON.parse(readFileSync(record, 'utf8')) as SourceRecord;
      const st = statSync(file);
      if (r.size !== st.size || r.mtimeMs !== st.mtimeMs) return undefined;
      const copy = this.copyPath(r.sha256);
      return existsSync(copy) ? copy : undefined;
    } catch {
      return undefined; // an unreadable record or a vanished source: no copy to offer
    }
  }

  /** Makes the copy (or finds one made from the same content under another name) and returns its path. */
  async make(file: string, o: MakeCopyOptions): Promise<string> {
    const st = statSync(file);
    const sha256 = await fileSha256(file, o.signal);
    const copy = this.copyPath(sha256);
    if (!existsSync(copy)) {
      mkdirSync(this.dir, { recursive: true });
      this.removeStale(path.basename(copy));
      const tmp = `${copy}.${process.pid}-${Date.now()}.tmp`;
      try {
        try {
          await this.transcode(file, tmp, true, o);
        } catch (err) {
          if ((err as Error).name === 'AbortError') throw err;
          // most often the audio is what cannot be re-encoded: the copy goes without it (a broken
          // video fails again, and that error is the one reported)
          await this.transcode(file, tmp, false, o);
        }
        renameSync(tmp, copy);
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    const record: SourceRecord = { path: path.resolve(file), size: st.size, mtimeMs: st.mtimeMs, sha256 };
    writeFileAtomic(this.recordFile(file), `${JSON.stringify(record)}\n`);
    return copy;
  }

  /** Temporary files of copies whose maker died (a crash or kill mid-way). */
  private removeStale(copyName: string): void {
    for (const name of readdirSync(this.dir)) {
      const m = new RegExp(`^${copyName.replace('.', '\\.')}\\.(\\d+)-\\d+\\.tmp$`).exec(name);
      if (m && !pidAlive(Number(m[1]))) rmSync(path.join(this.dir, name), { force: true });
    }
  }

  private transcode(file: string, out: string, withAudio: boolean, o: MakeCopyOptions): Promise<void> {
    const args = [
      '-hide_banner', '-nostdin', '-nostats', '-v', 'error', '-progress', 'pipe:1', '-y', '-i', file,
      '-map', '0:v:0', ...(withAudio ? ['-map', '0:a:0?', '-c:a', 'aac', '-b:a', '128k'] : ['-an']), '-sn', '-dn',
      '-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-bf', '0',
      '-force_key_frames', `expr:if(isnan(prev_forced_t),gte(t,${FORCE_AFTER_SECONDS}),gte(t-prev_forced_t,${FORCE_AFTER_SECONDS}))`,
      '-vsync', 'passthrough', '-enc_time_base', '-1',
      '-movflags', '+faststart', '-f', 'mp4', out,
    ];
    return new Promise<void>((resolve, reject) => {
      const proc = spawn(this.tools.ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let lineBuf = '';
      proc.stdout.setEncoding('utf8');
      proc.stdout.on('data', (chunk: string) => {
        lineBuf += chunk;
        let nl: number;
        while ((nl = lineBuf.indexOf('\n')) >= 0) {
          const m = /^frame=(\d+)/.exec(lineBuf.slice(0, nl));
          lineBuf = lineBuf.slice(nl + 1);
          if (m) o.onProgress?.(Math.min(Number(m[1]), o.frames), o.frames);
        }
      });
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-4000);
      });
      const onAbort = () => proc.kill('SIGKILL');
      o.signal?.addEventListener('abort', onAbort);
      proc.on('error', (err) => reject(new UserError(`cannot run ffmpeg (${err.message})`, 'check the ffmpeg path (--ffmpeg)', this.tools.ffmpeg)));
      proc.on('close', (code) => {
        o.signal?.removeEventListener('abort', onAbort);
        if (o.signal?.aborted) return reject(new DOMException('making the playback copy was cancelled', 'AbortError'));
        if (code === 0) return resolve();
        const detail = stderr.trim().split('\n').slice(-2).join('; ');
        reject(new UserError(`ffmpeg could not make a playback copy (${detail || `exit code ${code}`})`, 'the file may be damaged; convert it to H.264 with another tool and open that', file));
      });
    });
  }
}
