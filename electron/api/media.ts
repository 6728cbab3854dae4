/**
 * Serves a video file's bytes with HTTP range requests (206 Partial Content), so players can seek
 * without downloading the file. Used by the web server and by the Electron media protocol.
 */
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

const TYPES: Record<string, string> = {
  '.mp4': 'video/mp4', '.m4v': 'video/mp4', '.mov': 'video/quicktime', '.webm': 'video/webm', '.mkv': 'video/x-matroska',
  '.avi': 'video/x-msvideo', '.ogv': 'video/ogg', '.mpg': 'video/mpeg', '.mpeg': 'video/mpeg', '.ts': 'video/mp2t', '.mts': 'video/mp2t',
};

/**
 * A video's playback copy (electron/engine/video/playback-proxy.ts) is served by the same route as
 * the video, asked for with this query parameter: `/media/<id>?copy=1`, `media://video/<id>?copy=1`.
 */
export const PLAYBACK_COPY_PARAM = 'copy';
export const playbackCopyUrl = (mediaUrl: string): string => `${mediaUrl}${mediaUrl.includes('?') ? '&' : '?'}${PLAYBACK_COPY_PARAM}=1`;
export const wantsPlaybackCopy = (url: URL): boolean => url.searchParams.get(PLAYBACK_COPY_PARAM) === '1';

export interface MediaResponse {
  status: 200 | 206 | 416;
  headers: Record<string, string>;
  body?: Readable;
}

/** Parses a single `bytes=` range against a file size; undefined when absent, null when unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]); // last N bytes
    if (suffix === 0) return null;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return null;
  return { start, end };
}

export function mediaResponse(file: string, rangeHeader: string | undefined): MediaResponse {
  const size = statSync(file).size;
  const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  const base = { 'Content-Type': type, 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-store' };
  const range = parseRange(rangeHeader, size);
  if (range === null) return { status: 416, headers: { ...base, 'Content-Range': `bytes */${size}` } };
  if (range === undefined) return { status: 200, headers: { ...base, 'Content-Length': String(size) }, body: createReadStream(file) };
  return {
    status: 206,
    headers: { ...base, 'Content-Length': String(range.end - range.start + 1), 'Content-Range': `bytes ${range.start}-${range.end}/${size}` },
    body: createReadStream(file, { start: range.start, end: range.end }),
  };
}
