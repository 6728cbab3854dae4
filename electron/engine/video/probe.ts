/**
 * What a video file holds, read with ffprobe: the first video stream's codec, displayed size (after
 * rotation metadata), frame rate (and whether it varies), duration and frame count.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { UserError } from '../../../common/errors.js';

const run = promisify(execFile);

export interface VideoInfo {
  path: string;
  sizeBytes: number;
  codec: string;
  /** Displayed size: width and height after the rotation metadata is applied. */
  width: number;
  height: number;
  /** Size as stored in the stream, before rotation. */
  storedWidth: number;
  storedHeight: number;
  /** Rotation applied for display, in degrees counter-clockwise (the display-matrix convention): 0, 90, 180 or 270. */
  rotation: number;
  /** Average frame rate (frames / duration). */
  fps: number;
  /** True when frame intervals differ (phones write such files): timestamps, not index / fps, give time. */
  variableFrameRate: boolean;
  durationSec: number;
  /** Frame count from the container, or an estimate from duration × fps (see frameCountExact). */
  frameCount: number;
  frameCountExact: boolean;
  hasAudio: boolean;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  duration?: string;
  nb_frames?: string;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
  disposition?: { attached_pic?: number };
}

const ratio = (s: string | undefined): number => {
  if (!s) return 0;
  const [n, d] = s.split('/').map(Number);
  return d ? n / d : Number(n) || 0;
};

/**
 * Old ffprobe builds print a clockwise `rotate` tag, newer ones the display matrix's
 * counter-clockwise angle; both become counter-clockwise degrees here. ffmpeg turns the picture
 * upright by itself (autorotate); the probe needs the angle for the displayed frame size.
 */
function rotationOf(stream: ProbeStream): number {
  const tag = stream.tags?.rotate;
  if (tag !== undefined) return ((-Number(tag) % 360) + 360) % 360;
  const matrix = stream.side_data_list?.find((d) => d.side_data_type === 'Display Matrix');
  if (matrix?.rotation !== undefined) return ((Math.round(matrix.rotation) % 360) + 360) % 360;
  return 0;
}

/** MP4/MOV files start with an ISO base-media box; a text file renamed .mp4 does not. */
function looksLikeIsoMedia(file: string): boolean {
  const head = Buffer.alloc(8);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  return ['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip', 'pnot'].includes(head.toString('latin1', 4, 8));
}

/**
 * ffprobe "reads" pictures and text files too, as one-frame video streams (png_pipe, image2; tty
 * for ANSI art). They are not videos: refusing them here keeps `videos.open` and the media route
 * from serving whatever file a request names.
 */
function stillFormat(formatName: string | undefined, codec: string | undefined): string | undefined {
  const names = (formatName ?? '').split(',');
  const still = names.find((n) => /^(image2|image2pipe|tty|bin|xbin|adf|idf)$/.test(n) || n.endsWith('_pipe'));
  if (still) return `"${still}", ${codec ?? 'an image or text'}`;
  if (codec && /^(ansi|bintext|xbin|idf)$/.test(codec)) return `text (${codec})`;
  return undefined;
}

/** ffprobe's JSON; anything else means the program is not a working ffprobe. */
function parseProbeJson(out: string, ffprobe: string): unknown {
  try {
    return JSON.parse(out);
  } catch {
    throw new UserError(`ffprobe printed no usable JSON (${out.trim() ? `"${out.trim().slice(0, 60)}…"` : 'nothing'})`, 'check the ffprobe in use (--ffprobe / AFFECT_STUDIO_FFPROBE)', ffprobe);
  }
}

export async function probeVideo(file: string, ffprobe: string): Promise<VideoInfo> {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new UserError('is not a file', 'pass a video file or a folder of videos', file);
    size = st.size;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError('cannot be read', `check that the path exists and is readable (${(err as NodeJS.ErrnoException).code})`, file);
  }
  if (size === 0) throw new UserError('is empty (0 bytes)', 'the file was probably not copied or downloaded completely; replace it', file);

  let out: string;
  try {
    ({ stdout: out } = await run(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], { maxBuffer: 16 << 20 }));
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    if (/moov atom not found/.test(stderr) && looksLikeIsoMedia(file)) {
      throw new UserError('is truncated or corrupt (the MP4/MOV index "moov" is missing)', 'the file was cut short while recording or copying; re-export or re-copy it', file);
    }
    const last = stderr.split('\n').pop()?.replace(`${file}: `, '') ?? '';
    throw new UserError(`is not a video ffmpeg can read (${last || 'ffprobe failed'})`, 'check that it is a video file; convert it with ffmpeg if its format is unusual', file);
  }
  const json = parseProbeJson(out, ffprobe) as { streams?: ProbeStream[]; format?: { duration?: string; format_name?: string } };
  const streams = json.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video) {
    const what = streams.some((s) => s.codec_type === 'audio') ? 'has no video stream (audio only)' : 'has no video stream';
    throw new UserError(what, 'pass a file that contains video', file);
  }
  const still = stillFormat(json.format?.format_name, video.codec_name);
  if (still) throw new UserError(`is not a video (ffprobe reads it as ${still})`, 'pass a video file', file);
  const storedWidth = video.width ?? 0;
  const storedHeight = video.height ?? 0;
  if (!storedWidth || !storedHeight) throw new UserError('has a video stream without a frame size', 'the file is probably corrupt; re-export it', file);
  const rotation = rotationOf(video);
  const quarter = rotation === 90 || rotation === 270;
  const avg = ratio(video.avg_frame_rate);
  const real = ratio(video.r_frame_rate);
  const fps = avg || real;
  const durationSec = Number(video.duration ?? json.format?.duration ?? 0) || 0;
  const nb = Number(video.nb_frames ?? 0);
  const frameCount = nb > 0 ? nb : Math.max(1, Math.round(durationSec * fps));
  return {
    path: file,
    sizeBytes: size,
    codec: video.codec_name ?? 'unknown',
    width: quarter ? storedHeight : storedWidth,
    height: quarter ? storedWidth : storedHeight,
    storedWidth,
    storedHeight,
    rotation,
    fps,
    // r_frame_rate is the finest time grid; when it differs from the average, intervals vary.
    variableFrameRate: avg > 0 && real > 0 && Math.abs(real - avg) / avg > 0.01,
    durationSec,
    frameCount,
    frameCountExact: nb > 0,
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
  };
}

/**
 * Video packets that are meant to be shown: the container's frame count also includes packets an
 * edit list discards (flag "D"), which decoders rightly drop. Reads packet headers only (no decoding).
 */
export async function countShownPackets(file: string, ffprobe: string): Promise<number> {
  const { stdout } = await run(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags', '-of', 'csv=p=0', file], { maxBuffer: 256 << 20 });
  return stdout.split('\n').filter((l) => l.trim() && !l.includes('D')).length;
}

/**
 * Presentation time (seconds) of every frame, in display order, on the decoder's clock (the file's
 * start time subtracted, as ffmpeg does). Reads packet headers only: fast even for long files.
 */
export async function frameTimes(file: string, ffprobe: string): Promise<number[]> {
  const { stdout } = await run(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags:format=start_time', '-of', 'json', file], { maxBuffer: 512 << 20 });
  const json = parseProbeJson(stdout, ffprobe) as { packets?: { pts_time?: string; flags?: string }[]; format?: { start_time?: string } };
  const start = Number(json.format?.start_time ?? 0) || 0;
  return (json.packets ?? [])
    .filter((p) => p.pts_time !== undefined && !(p.flags ?? '').includes('D'))
    .map((p) => Number(p.pts_time) - start)
    .sort((a, b) => a - b);
}
