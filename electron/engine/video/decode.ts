/**
 * Streams the frames of a video as RGB pixels with their real presentation times.
 *
 * ffmpeg decodes (applying rotation metadata, as players do) and writes raw rgb24 frames to a pipe.
 * Its `showinfo` filter, placed before frame selection, reports every decoded frame's index and
 * timestamp on stderr; the same selection rule is applied to that report here, so each emitted
 * frame gets its true frame number and presentation time, also for variable-frame-rate files.
 * At most `bufferFrames` frames wait for the consumer: memory does not grow with video length.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { UserError } from '../../../common/errors.js';
import { countShownPackets, type VideoInfo } from './probe.js';

export interface DecodeOptions {
  ffmpeg: string;
  /** Used to tell a truncated file from one whose edit list hides frames. */
  ffprobe?: string;
  /** Keep frames whose 1-based number k has (k − 1) divisible by stride. Default 1 (every frame). */
  stride?: number;
  /** Keep frames with start ≤ time < end (seconds). */
  start?: number;
  end?: number;
  /** Downscale so that the longer side is at most this many pixels (0: keep the size). */
  maxSide?: number;
  signal?: AbortSignal;
  bufferFrames?: number;
}

export interface Frame {
  /** 1-based number of the frame among all decoded frames of the video (ABAW/OpenFace numbering). */
  frame: number;
  /** Presentation time in seconds. */
  time: number;
  width: number;
  height: number;
  /** width × height × 3 bytes, row-major RGB. */
  rgb: Buffer;
}

export interface DecodeStats {
  /** Frames ffmpeg decoded (including those the stride or time range skipped). */
  decodedFrames: number;
  emittedFrames: number;
  warnings: string[];
}

export function outputSize(info: Pick<VideoInfo, 'width' | 'height'>, maxSide = 0): { width: number; height: number } {
  const longer = Math.max(info.width, info.height);
  if (!maxSide || longer <= maxSide) return { width: info.width, height: info.height };
  const s = maxSide / longer;
  // Even sizes keep every scaler happy.
  return { width: Math.max(2, Math.round((info.width * s) / 2) * 2), height: Math.max(2, Math.round((info.height * s) / 2) * 2) };
}

interface FrameReport {
  n: number;
  time: number;
}

/** Pixel buffers kept for reuse at most (more than ever wait in a pipeline at once). */
const MAX_SPARE = 64;

const SHOWINFO = /\bn:\s*(\d+)\s+pts:\s*(-?\d+|NOPTS)\b/;
const TIMEBASE = /config in time_base:\s*(\d+)\/(\d+)/;

export class VideoDecoder implements AsyncIterable<Frame> {
  readonly width: number;
  readonly height: number;
  readonly stats: DecodeStats = { decodedFrames: 0, emittedFrames: 0, warnings: [] };
  private readonly stride: number;
  private readonly spare: Buffer[] = [];

  constructor(
    private readonly info: VideoInfo,
    private readonly options: DecodeOptions,
  ) {
    ({ width: this.width, height: this.height } = outputSize(info, options.maxSide));
    this.stride = Math.max(1, Math.floor(options.stride ?? 1));
    if (options.start !== undefined && options.end !== undefined && options.end <= options.start) {
      throw new UserError(`time range ${options.start}–${options.end} s is empty`, 'pass an end time after the start time', info.path);
    }
  }

  /**
   * Takes back a frame's pixels once nothing uses them any more: later frames are decoded into them
   * instead of into fresh memory. A stream of large buffers allocated and dropped costs page faults
   * and garbage collections, and leaves the C allocator's heap larger the longer the video.
   * Buffers of another size (or views into larger ones) are ignored.
   */
  recycle(rgb: Uint8Array): void {
    const bytes = this.width * this.height * 3;
    if (rgb.byteLength !== bytes || rgb.byteOffset !== 0 || rgb.buffer.byteLength !== bytes || this.spare.length >= MAX_SPARE) return;
    this.spare.push(Buffer.from(rgb.buffer, 0, bytes));
  }

  /** The selection rule, shared by the ffmpeg filter (as an expression) and the report parser. */
  private selected(n: number, time: number): boolean {
    if (n % this.stride !== 0) return false;
    if (this.options.start !== undefined && !(time >= this.options.start)) return false;
    if (this.options.end !== undefined && !(time < this.options.end)) return false;
    return true;
  }

  private filterGraph(): string {
    const terms: string[] = [];
    if (this.stride > 1) terms.push(`not(mod(n\\,${this.stride}))`);
    if (this.options.start !== undefined) terms.push(`gte(t\\,${this.options.start})`);
    if (this.options.end !== undefined) terms.push(`lt(t\\,${this.options.end})`);
    const select = terms.length ? `select='${terms.join('*')}',` : '';
    return `showinfo,${select}scale=${this.width}:${this.height}`;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    const { info, options } = this;
    const frameBytes = this.width * this.height * 3;
    const maxReady = Math.max(1, options.bufferFrames ?? 4);
    const args = ['-hide_banner', '-nostdin', '-nostats', '-v', 'info', '-i', info.path, '-map', '0:v:0', '-an', '-sn', '-dn',
      '-vf', this.filterGraph(), '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
    const proc: ChildProcessByStdio<null, Readable, Readable> = spawn(options.ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });

    let timeBase: [number, number] | undefined;
    const reports: FrameReport[] = []; // selected frames whose pixels have not arrived yet
    const pixels: Buffer[] = []; // complete frames whose report has not arrived yet
    const ready: Frame[] = [];
    const errorLines: string[] = [];
    let pastEnd = false;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };

    const pair = (): void => {
      while (reports.length && pixels.length) {
        const r = reports.shift() as FrameReport;
        ready.push({ frame: r.n + 1, time: r.time, width: this.width, height: this.height, rgb: pixels.shift() as Buffer });
      }
      if (ready.length >= maxReady) proc.stdout.pause();
      notify();
    };

    let lineBuf = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => {
      lineBuf += chunk;
      let nl: number;
      while ((nl = lineBuf.indexOf('\n')) >= 0) {
        const line = lineBuf.slice(0, nl);
        lineBuf = lineBuf.slice(nl + 1);
        const m = SHOWINFO.exec(line);
        if (m && line.includes('showinfo')) {
          const n = Number(m[1]);
          this.stats.decodedFrames = n + 1;
          // t as ffmpeg computes it (pts × time base, in doubles), so both sides select alike.
          const time = m[2] === 'NOPTS' || !timeBase ? n / (info.fps || 25) : Number(m[2]) * (timeBase[0] / timeBase[1]);
          if (this.selected(n, time)) reports.push({ n, time });
          else if (options.end !== undefined && time >= options.end && !pastEnd) {
            pastEnd = true; // presentation order: nothing later can be in range
          }
          continue;
        }
        const tb = TIMEBASE.exec(line);
        if (tb && line.includes('showinfo') && !timeBase) {
          timeBase = [Number(tb[1]), Number(tb[2])];
          continue;
        }
        // the raw muxer's complaint about repeated timestamps is harmless: frames pass through as decoded
        if (line.includes('showinfo') || !line.trim() || line.includes('non monotonically increasing dts')) continue;
        if (/error|invalid|corrupt|partial|truncat|missing/i.test(line)) {
          errorLines.push(line.trim());
          if (errorLines.length > 20) errorLines.shift();
        }
      }
      pair();
    });

    let current: Buffer | undefined;
    let filled = 0;
    proc.stdout.on('data', (chunk: Buffer) => {
      let offset = 0;
      while (offset < chunk.length) {
        // a buffer of its own (not a slice of a pool): it can be handed to a worker thread without a copy
        current ??= this.spare.pop() ?? Buffer.allocUnsafeSlow(frameBytes);
        const n = Math.min(frameBytes - filled, chunk.length - offset);
        chunk.copy(current, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === frameBytes) {
          pixels.push(current);
          current = undefined;
          filled = 0;
        }
      }
      pair();
    });

    let stdoutEnded = false;
    proc.stdout.on('end', () => {
      stdoutEnded = true;
      notify();
    });
    proc.on('error', (err) => {
      spawnError = err;
      notify();
    });
    proc.on('close', (code, signal) => {
      exited = { code, signal };
      pair();
      notify();
    });
    const onAbort = (): void => {
      proc.kill('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort);

    try {
      for (;;) {
        if (options.signal?.aborted) throw new DOMException('decoding cancelled', 'AbortError');
        if (ready.length) {
          const frame = ready.shift() as Frame;
          if (ready.length < maxReady && proc.stdout.isPaused()) proc.stdout.resume();
          this.stats.emittedFrames++;
          yield frame;
          continue;
        }
        if (pastEnd && reports.length === 0 && pixels.length === 0) break; // the time range is done: stop decoding
        if (spawnError) throw new UserError(`cannot run ffmpeg (${spawnError.message})`, 'check the ffmpeg path (--ffmpeg)', options.ffmpeg);
        if (exited && stdoutEnded) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      if (options.signal?.aborted) throw new DOMException('decoding cancelled', 'AbortError');
      if (!pastEnd) await this.checkEnd(exited, errorLines, reports.length, pixels.length);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      if (!exited) proc.kill('SIGKILL');
    }
  }

  private async checkEnd(exited: { code: number | null } | undefined, errorLines: string[], unmatchedReports: number, unmatchedFrames: number): Promise<void> {
    const { info } = this;
    const detail = errorLines.slice(-3).join('; ');
    if (exited?.code !== 0) {
      throw new UserError(`ffmpeg failed while decoding (exit code ${exited?.code})${detail ? `: ${detail}` : ''}`,
        'the file may be corrupt or truncated; try re-exporting it', info.path);
    }
    if (this.stats.decodedFrames === 0) {
      throw new UserError(`no frame could be decoded${detail ? ` (${detail})` : ''}`, 'the file may be corrupt or truncated; try re-exporting it', info.path);
    }
    if (unmatchedReports || unmatchedFrames) {
      throw new Error(`internal: ${unmatchedReports} frame reports and ${unmatchedFrames} frames left unpaired decoding ${info.path}`);
    }
    if (errorLines.some((l) => /partial file/.test(l))) {
      this.stats.warnings.push(`the file is truncated (ffmpeg: "partial file"): decoded ${this.stats.decodedFrames} of the ${info.frameCount} frames the container lists`);
      return;
    }
    // Containers count frames an edit list hides; only packets meant to be shown must all decode.
    const short = info.frameCountExact && this.stats.decodedFrames < info.frameCount - 1;
    if (short && (!this.options.ffprobe || this.stats.decodedFrames < (await countShownPackets(info.path, this.options.ffprobe)) - 1)) {
      this.stats.warnings.push(`decoded ${this.stats.decodedFrames} of the ${info.frameCount} frames the container lists: the file may be truncated${detail ? ` (${detail})` : ''}`);
    } else if (detail) {
      this.stats.warnings.push(`ffmpeg reported: ${detail}`);
    }
  }
}
