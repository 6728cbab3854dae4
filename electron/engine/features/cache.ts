/**
 * The on-disk feature cache. Layout (see docs/features.md):
 *
 *   <cache>/features/<video sha256, 16 hex>/<tracking key>/
 *       faces.csv            tracked faces (the rows every other file lines up with)
 *       geometry.npy         per row: crop square, roll, 5 keypoints, 468 landmarks (frame pixels)
 *       <extractor>@<version>.npy   per row: that extractor's features
 *
 * The tracking key hashes everything that changes which faces are found where: decoding settings
 * (stride, time range, size), tracker settings, and the detector and mesh model files. An
 * extractor's file is valid for the faces.csv beside it, so adding an extractor later replays the
 * cached geometry instead of tracking again. Entries are written to a staging folder and moved in
 * when complete: an interrupted run leaves nothing half-written behind. `checksums.json` holds
 * every file's sha256, written at commit and verified before an entry is used: a file damaged
 * on disk (same size, other bytes) would otherwise change features silently.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../../common/node/storage.js';
import { MESH_POINTS } from '../face/landmarks.js';
import type { FaceGeometry } from './extractor.js';

export const GEOMETRY_COLS = 5 + 10 + MESH_POINTS * 3;

export async function fileSha256(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20, signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const shortHash = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

export const extractorFile = (id: string, version: string): string => `${id}@${version}.npy`;

export function encodeGeometry(face: FaceGeometry): Float32Array {
  const row = new Float32Array(GEOMETRY_COLS);
  row.set([face.roi.center[0], face.roi.center[1], face.roi.side, face.roi.angle, face.roll], 0);
  row.set(face.keypoints.flat(), 5);
  row.set(face.landmarks, 15);
  return row;
}

export function decodeGeometry(row: Float32Array): FaceGeometry {
  const kp = row.subarray(5, 15);
  return {
    roi: { center: [row[0], row[1]], side: row[2], angle: row[3] },
    roll: row[4],
    keypoints: [0, 1, 2, 3, 4].map((i) => [kp[2 * i], kp[2 * i + 1]] as [number, number]),
    landmarks: row.slice(15, 15 + MESH_POINTS * 3),
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const CHECKSUMS = 'checksums.json';

export class CacheEntry {
  constructor(readonly dir: string) {}

  has(file: string): boolean {
    return existsSync(path.join(this.dir, file));
  }

  path(file: string): string {
    return path.join(this.dir, file);
  }

  /** A fresh staging folder beside the entry; stale ones of dead processes are removed first. */
  stage(): string {
    const parent = path.dirname(this.dir);
    mkdirSync(parent, { recursive: true });
    const prefix = `${path.basename(this.dir)}.staging-`;
    for (const name of readdirSync(parent)) {
      if (!name.startsWith(prefix)) continue;
      const pid = Number(name.slice(prefix.length).split('-')[0]);
      if (!pidAlive(pid)) rmSync(path.join(parent, name), { recursive: true, force: true });
    }
    const staging = path.join(parent, `${prefix}${process.pid}-${Date.now()}`);
    mkdirSync(staging);
    return staging;
  }

  private checksums(): Record<string, string> {
    try {
      return JSON.parse(readFileSync(this.path(CHECKSUMS), 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }

  /**
   * Checks `files` against the checksums recorded at commit; returns what is wrong (a file
   * changed, or no checksum recorded: an entry written before checksums existed), or undefined.
   */
  async verify(files: string[], signal?: AbortSignal): Promise<string | undefined> {
    const sums = this.checksums();
    for (const f of files) {
      if (!sums[f]) return `${f} has no recorded checksum`;
      if ((await fileSha256(this.path(f), signal)) !== sums[f]) return `${f} does not match its checksum (damaged on disk)`;
    }
    return undefined;
  }

  /** Drops the whole entry (damaged): it is computed again. */
  discard(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Moves finished files from a staging folder into the entry; `replace` drops what the entry held (a new tracking run). */
  async commit(staging: string, replace: boolean): Promise<void> {
    const names = readdirSync(staging);
    const sums = replace ? {} : this.checksums();
    for (const name of names) sums[name] = await fileSha256(path.join(staging, name));
    if (replace) rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    // checksums first, faces.csv last: its presence is what marks the entry as usable
    writeFileAtomic(this.path(CHECKSUMS), `${JSON.stringify(sums, null, 1)}\n`);
    names.sort((a, b) => (a === 'faces.csv' ? 1 : b === 'faces.csv' ? -1 : 0));
    for (const name of names) renameSync(path.join(staging, name), path.join(this.dir, name));
    rmSync(staging, { recursive: true, force: true });
  }
}
