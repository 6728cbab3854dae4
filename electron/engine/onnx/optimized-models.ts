/**
 * ONNX Runtime spends most of a session's start optimising the graph — FaceRes ~430 ms of a
 * ~470 ms start on this machine, FaceMesh ~170 ms — and did so again in every run and in every
 * worker thread. The CPU provider can save the optimised graph; a later session loads it with
 * optimisation off (FaceRes ~35 ms, FaceMesh ~16 ms), and computes the same bytes.
 *
 * The saved graph may use this CPU's instruction set (ONNX Runtime's NCHWc layout is blocked for
 * its vector width), so each is kept per ONNX Runtime version, architecture and CPU model, and only
 * for the CPU provider. Files are written under a temporary name and renamed: processes sharing
 * the cache never see half a file, and a file ONNX Runtime cannot load is dropped and remade.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileStamp } from '../../../common/node/storage.js';

/** What the saved graphs depend on besides the model itself. */
function machineKey(): string {
  const ortVersion = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  return createHash('sha256').update(JSON.stringify([ortVersion, process.platform, process.arch, cpu])).digest('hex').slice(0, 12);
}

export class OptimizedModelCache {
  private readonly machine = machineKey();

  constructor(readonly dir: string) {}

  /**
   * Where the optimised graph of `model` lives (whether or not it is there yet). A model file is
   * known by its path, size and modification time, not by its bytes: reading and hashing them
   * (FaceRes: 13 MB) cost ~85 ms in every thread of every run, and a rewritten file (a rebuilt
   * conversion) gets a new graph all the same. Bytes without a file are known by their hash.
   */
  fileFor(model: string | Uint8Array): string {
    const hash = createHash('sha256');
    if (typeof model === 'string') hash.update(JSON.stringify(['file', ...fileStamp(model)]));
    else hash.update(model);
    return path.join(this.dir, `${hash.digest('hex').slice(0, 20)}-${this.machine}.onnx`);
  }

  /**
   * A temporary file for ONNX Runtime to write the optimised graph to, and `keep` to move it in
   * place once the session stands; undefined where the cache folder cannot be made.
   */
  slot(file: string): { tmp: string; keep(): void; drop(): void } | undefined {
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch {
      return undefined; // a read-only cache: sessions still start, only slower
    }
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const drop = (): void => rmSync(tmp, { force: true });
    return {
      tmp,
      keep: () => {
        try {
          renameSync(tmp, file);
        } catch {
          drop();
        }
      },
      drop,
    };
  }
}
