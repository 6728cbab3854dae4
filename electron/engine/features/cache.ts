/**
 * The on-disk feature cache. Layout (see docs/features.md):
 *
 *   <cache>/features/<video sha256, 16 hex>/<tracking key>/
 *       faces.csv            tracked faces (the rows every other file lines up with)
 *       geometry.npy         per row: crop square, roll, 5 keypoints, 468 landmarks (frame pixels)
 *       <extractor>@<version>.npy   per row: that extractor's features
 *       decode-warnings.json what the decoder warned about (e.g. a truncated file), for cache hits
 *
 * The tracking key hashes everything that changes which faces are found where: decoding settings
 * (stride, time range, size), tracker settings, and the detector and mesh model files. An
 * extractor's file is valid for the faces.csv beside it, so adding an extractor later replays the
 * cached geometry instead of tracking again. Entries are written to a staging folder and moved in
 * when complete: an interrupted run leaves nothing half-written behind, and processes sharing the
 * cache (array tasks on a cluster's shared storage) never see or make a half-written entry. Every
 * file has a `<file>.sha256` beside it, written before the file appears and verified before the
 * entry is used: a file damaged on disk (same size, other bytes) would otherwise change features
 * silently.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MESH_POINTS } from '../face/landmarks.js';
import type { FaceGeometry } from './extractor.js';

export const GEOMETRY_COLS = 5 + 10 + MESH_POINTS * 3;

export async function fileSha256(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 16, signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const shortHash = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/** An extractor's file in an entry; a variant (int8) of the same features is kept apart. */
export const extractorFile = (e: { id: string; version: string; variant?: string }): string => `${e.id}@${e.version}${e.variant ? `~${e.variant}` : ''}.npy`;

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

/** The faces of one frame from its rows of GEOMETRY_COLS values, one after the other. */
export function decodeFaces(rows: Float32Array): FaceGeometry[] {
  const faces: FaceGeometry[] = [];
  for (let i = 0; i < rows.length / GEOMETRY_COLS; i++) faces.push(decodeGeometry(rows.subarray(i * GEOMETRY_COLS, (i + 1) * GEOMETRY_COLS)));
  return faces;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Staging folders of other machines (a cache on shared storage) cannot be checked for a live
 * process; they are removed once this old, far longer than any one video takes.
 */
const FOREIGN_STAGING_MAX_AGE_MS = 24 * 3600 * 1000;

/** `<host>~<pid>-<ms>`: who owns a staging folder (names of older versions had no host). */
function stagingOwner(suffix: string): { host?: string; pid: number } {
  const tilde = suffix.lastIndexOf('~');
  const host = tilde >= 0 ? suffix.slice(0, tilde) : undefined;
  return { host, pid: Number(suffix.slice(tilde + 1).split('-')[0]) };
}

const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

/**
 * One cache entry. Several processes may touch the same entry at once — batches on one machine,
 * or array tasks on several machines sharing the cache folder — so an entry only ever changes by
 * atomic steps: a new entry appears whole (its staging folder renamed into place), and an
 * extractor's file is added with link(2), which fails instead of replacing a file someone may be
 * reading. Whoever loses a race keeps the winner's files and drops its own.
 */

/** The checksum file beside each file of an entry. */
const sumFile = (name: string): string => `${name}.sha256`;

export class CacheEntry {
  /** `checksums: false` for a scratch entry that lives only as long as its run (no cache): nothing to guard. */
  constructor(
    readonly dir: string,
    private readonly options: { checksums: boolean } = { checksums: true },
  ) {}

  has(file: string): boolean {
    return existsSync(path.join(this.dir, file));
  }

  path(file: string): string {
    return path.join(this.dir, file);
  }

  /** Tracking is present: faces.csv and geometry.npy, which every extractor file lines up with. */
  get tracked(): boolean {
    return this.has('faces.csv') && this.has('geometry.npy');
  }

  /** A fresh staging folder beside the entry; those of dead processes (and set-aside folders) are removed first. */
  stage(): string {
    const parent = path.dirname(this.dir);
    mkdirSync(parent, { recursive: true });
    const prefix = `${path.basename(this.dir)}.staging-`;
    const aside = `${path.basename(this.dir)}.stale-`;
    const host = os.hostname();
    for (const name of readdirSync(parent)) {
      const own = name.startsWith(prefix) ? prefix : name.startsWith(aside) ? aside : undefined;
      if (!own) continue;
      const owner = stagingOwner(name.slice(own.length));
      const full = path.join(parent, name);
      const stale = owner.host === undefined || owner.host === host ? !pidAlive(owner.pid) : ageMs(full) > FOREIGN_STAGING_MAX_AGE_MS;
      if (stale) rmSync(full, { recursive: true, force: true });
    }
    const staging = path.join(parent, `${prefix}${host}~${process.pid}-${Date.now()}-${randomBytes(4).toString('hex')}`);
    mkdirSync(staging);
    return staging;
  }

  /**
   * Checks `files` against the checksums written with them; returns what is wrong (a file changed,
   * or no checksum: an entry written before checksums existed), or undefined.
   */
  async verify(files: string[], signal?: AbortSignal): Promise<string | undefined> {
    for (const f of files) {
      let sum: string;
      try {
        sum = readFileSync(this.path(sumFile(f)), 'utf8').trim();
      } catch {
        return `${f} has no recorded checksum`;
      }
      if ((await fileSha256(this.path(f), signal)) !== sum) return `${f} does not match its checksum (damaged on disk)`;
    }
    return undefined;
  }

  /** Drops the whole entry (damaged): it is computed again. */
  discard(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Moves finished files from a staging folder into the entry. `replace`: the staging folder holds
   * a whole new tracking run (the entry had none); otherwise it holds extractor files to add. Each
   * file's checksum is written beside it first, so no reader ever sees a file without one.
   */
  async commit(staging: string, replace: boolean): Promise<void> {
    const names = readdirSync(staging).filter((n) => !n.endsWith('.sha256'));
    if (this.options.checksums) for (const name of names) writeFileSync(path.join(staging, sumFile(name)), `${await fileSha256(path.join(staging, name))}\n`);
    if (replace) this.commitNew(staging);
    else {
      mkdirSync(this.dir, { recursive: true });
      for (const name of names) {
        if (this.options.checksums) addFile(path.join(staging, sumFile(name)), path.join(this.dir, sumFile(name)));
        addFile(path.join(staging, name), path.join(this.dir, name));
      }
    }
    rmSync(staging, { recursive: true, force: true });
  }

  private commitNew(staging: string): void {
    if (tryRenameDir(staging, this.dir)) return;
    if (this.tracked) return; // another process made the entry meanwhile: keep theirs
    // An incomplete folder (from a version that moved files in one by one): set it aside, move ours in.
    const aside = `${this.dir}.stale-${os.hostname()}~${process.pid}-${Date.now()}-${randomBytes(4).toString('hex')}`;
    try {
      renameSync(this.dir, aside);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw err;
    }
    tryRenameDir(staging, this.dir);
    rmSync(aside, { recursive: true, force: true });
  }
}

function ageMs(p: string): number {
  try {
    return Date.now() - statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

/** Renames a folder into place; false when the target exists and is not empty (someone was first). */
function tryRenameDir(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (err) {
    if (['ENOTEMPTY', 'EEXIST', 'EPERM', 'EACCES'].includes(errCode(err) ?? '') && existsSync(to)) return false;
    throw err;
  }
}

/** Adds a file to an entry unless it is already there (never replaces: readers may have it open). */
function addFile(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (err) {
    const code = errCode(err);
    if (code === 'EEXIST') return;
    // file systems without hard links: a rename, checked first (a small window, same content)
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      if (!existsSync(to)) renameSync(from, to);
      return;
    }
    throw err;
  }
}
