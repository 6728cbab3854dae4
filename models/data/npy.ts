/**
 * NumPy .npy files (format version 1.0), written a row at a time so that features of long videos
 * never sit in memory: the header reserves room for the row count and is rewritten on close.
 * float32, little-endian, C order: `np.load(path)` gives an [rows, cols] array.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { writeAll } from '../../common/node/storage.js';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00]); // \x93NUMPY v1.0
const HEADER_BYTES = 128; // multiple of 64, room for 20-digit dimensions

function header(rows: number, cols: number): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const textLen = HEADER_BYTES - MAGIC.length - 2;
  if (dict.length + 1 > textLen) throw new Error('npy header does not fit');
  const buf = Buffer.alloc(HEADER_BYTES, 0x20);
  MAGIC.copy(buf, 0);
  buf.writeUInt16LE(textLen, 8);
  buf.write(dict, 10, 'latin1');
  buf[HEADER_BYTES - 1] = 0x0a;
  return buf;
}

export class NpyWriter {
  private readonly fd: number;
  private rows = 0;
  private position = HEADER_BYTES;
  private pending: Buffer;
  private used = 0;
  private closed = false;

  constructor(
    readonly file: string,
    readonly cols: number,
    /** Rows buffered before a write. */
    chunkRows = 64,
  ) {
    this.fd = openSync(file, 'w');
    writeAll(this.fd, header(0, cols), 0);
    this.pending = Buffer.allocUnsafe(Math.max(1, chunkRows) * cols * 4);
  }

  get rowCount(): number {
    return this.rows;
  }

  /** Appends one row; `undefined` writes a row of NaN (no face in that frame). */
  append(row: Float32Array | undefined): void {
    if (row && row.length !== this.cols) throw new Error(`${this.file}: row of ${row.length} values, expected ${this.cols}`);
    const bytes = this.cols * 4;
    if (this.used + bytes > this.pending.length) this.flush();
    if (row) Buffer.from(row.buffer, row.byteOffset, bytes).copy(this.pending, this.used);
    else for (let i = 0; i < this.cols; i++) this.pending.writeFloatLE(NaN, this.used + 4 * i);
    this.used += bytes;
    this.rows++;
  }

  private flush(): void {
    if (this.used) writeAll(this.fd, this.pending.subarray(0, this.used), this.position);
    this.position += this.used;
    this.used = 0;
  }

  close(): void {
    if (this.closed) return;
    try {
      this.flush();
      writeAll(this.fd, header(this.rows, this.cols), 0);
    } finally {
      this.abandon();
    }
  }

  /**
   * Closes without finishing the header (the file is about to be deleted). Safe to call again:
   * closing a descriptor twice could close another file that reused its number.
   */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

export interface NpyInfo {
  rows: number;
  cols: number;
  dataOffset: number;
}

/** Reads a float32 2-D .npy header (any header length, as numpy writes them). */
export function readNpyHeader(file: string): NpyInfo {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(10);
    readSync(fd, head, 0, 10, 0);
    if (!head.subarray(0, 6).equals(MAGIC.subarray(0, 6))) throw new Error(`${file} is not a .npy file`);
    const major = head[6];
    let len: number;
    let start: number;
    if (major === 1) {
      len = head.readUInt16LE(8);
      start = 10;
    } else {
      const b = Buffer.alloc(4);
      readSync(fd, b, 0, 4, 8);
      len = b.readUInt32LE(0);
      start = 12;
    }
    const text = Buffer.alloc(len);
    readSync(fd, text, 0, len, start);
    const dict = text.toString('latin1');
    const descr = /'descr':\s*'([^']+)'/.exec(dict)?.[1];
    if (descr !== '<f4') throw new Error(`${file}: dtype ${descr}, expected float32 ('<f4')`);
    if (/'fortran_order':\s*True/.test(dict)) throw new Error(`${file}: Fortran order is not supported`);
    const shape = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number) ?? [];
    if (shape.length !== 2) throw new Error(`${file}: shape (${shape}) is not 2-D`);
    const info = { rows: shape[0], cols: shape[1], dataOffset: start + len };
    const size = fstatSync(fd).size;
    if (size < info.dataOffset + info.rows * info.cols * 4) throw new Error(`${file} is truncated (${size} bytes for ${info.rows}×${info.cols})`);
    return info;
  } finally {
    closeSync(fd);
  }
}

/** `n` values to fill: a view of `into` when it is long enough (a long pass reuses one buffer), else a fresh array. */
export function rowBuffer(n: number, into?: Float32Array): Float32Array {
  return into && into.length >= n ? into.subarray(0, n) : new Float32Array(n);
}

/** Reads rows [start, start + count) of a float32 .npy file; into `into` (a view of it is returned) when it is long enough. */
export function readNpyRows(file: string, info: NpyInfo, start: number, count: number, into?: Float32Array): Float32Array {
  const fd = openSync(file, 'r');
  try {
    // a long pass reads into one buffer: fresh arrays would pile up as garbage faster than it is collected
    const out = rowBuffer(count * info.cols, into);
    readSync(fd, new Uint8Array(out.buffer, out.byteOffset, out.byteLength), 0, out.byteLength, info.dataOffset + start * info.cols * 4);
    return out;
  } finally {
    closeSync(fd);
  }
}
