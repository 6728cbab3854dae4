import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/onnx/builder.js';
import { autoProviderOrder, SessionFactory } from '../../electron/engine/onnx/sessions.js';
import { UserError } from '../../common/errors.js';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureFaceModel } from '../../models/pretrained/face-models.js';
import { freshDir } from '../helpers/fixtures.js';

function reluModel(): Uint8Array {
  const b = new GraphBuilder('relu');
  b.expose(b.op('Relu', [b.input('x', [4])]), 'y');
  return b.build({ producer: 'test' });
}

describe('execution providers', () => {
  it('auto tries the GPU providers that fit the platform, CPU last', () => {
    expect(autoProviderOrder('linux')).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(autoProviderOrder('win32')).toEqual(['cuda', 'dml', 'webgpu', 'cpu']);
    expect(autoProviderOrder('darwin')).toEqual(['coreml', 'webgpu', 'cpu']);
  });

  it('an unknown provider is a clear error', () => {
    const err = (() => { try { new SessionFactory({ provider: "tpu" as never }); } catch (e) { return e as UserError; } })();
    expect(err?.describe()).toMatch(/unknown execution provider "tpu".*auto, cpu, webgpu/);
  });

  it('a provider that throws (WebGPU without an adapter) is caught and the next one is used, and the run says which ran', async () => {
    const f = new SessionFactory({ provider: 'auto', autoOrder: ['webgpu', 'cpu'] });
    const s = await f.create(reluModel(), 'relu');
    const out = await s.run({ x: { data: new Float32Array([-1, 2, -3, 4]), dims: [4] } });
    expect(Array.from(out.y.data)).toEqual([0, 2, 0, 4]);
    const first = f.attempts[0];
    expect(first.provider).toBe('webgpu');
    // a machine with a GPU runs it on WebGPU; one without records why not and falls back
    if (first.ok) expect(s.provider).toBe('webgpu');
    else {
      expect(first.error).toMatch(/adapter|WebGPU|webgpu/i);
      expect(s.provider).toBe('cpu');
    }
    expect(f.provider).toBe(s.provider);
  });

  it('auto on this machine reports skipped providers with their reason', async () => {
    const f = new SessionFactory();
    const s = await f.create(reluModel(), 'relu');
    expect(['cpu', 'webgpu', 'cuda', 'dml', 'coreml']).toContain(s.provider);
    for (const a of f.attempts.filter((x) => !x.ok)) expect(a.error).toBeTruthy();
  });

  it('an explicitly chosen provider that cannot run says what to do', async () => {
    const f = new SessionFactory({ provider: 'coreml' });
    if (process.platform === 'darwin') return; // CoreML exists there
    const err = await f.create(reluModel(), 'relu').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).describe()).toMatch(/cannot load model relu \(coreml: .*\).*try --ep auto or --ep cpu/);
  });

  it('a missing model file names the file', async () => {
    const err = await new SessionFactory({ provider: 'cpu' }).create('/nonexistent/model.onnx', 'm').then(() => undefined, (e: unknown) => e);
    expect((err as UserError).describe()).toMatch(/\/nonexistent\/model\.onnx: model file .* is missing/);
  });
});

describe('the saved optimised graphs (CPU)', () => {
  it('are written on first use, start later sessions with the same outputs, and a damaged one is remade', async () => {
    const dir = path.join(freshDir('optimized'), 'graphs');
    const model = readFileSync(ensureFaceModel('facemesh'));
    const input = { input: { data: Float32Array.from({ length: 192 * 192 * 3 }, (_, i) => ((i * 7919) % 255) / 255), dims: [1, 192, 192, 3] } };
    const bytes = (t: { data: Float32Array }): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

    const plain = await new SessionFactory({ provider: 'cpu', threads: 1, optimizedModels: false }).create(model, 'facemesh');
    const want = await plain.run(input);
    expect(existsSync(dir)).toBe(false);

    const first = await new SessionFactory({ provider: 'cpu', threads: 1, optimizedModels: dir }).create(model, 'facemesh');
    const saved = readdirSync(dir);
    expect(saved).toHaveLength(1); // no temporary file left behind
    expect(saved[0]).toMatch(/^[0-9a-f]{20}-[0-9a-f]{12}\.onnx$/);
    const graph = path.join(dir, saved[0]);
    const written = statSync(graph).mtimeMs;

    const second = await new SessionFactory({ provider: 'cpu', threads: 1, optimizedModels: dir }).create(model, 'facemesh');
    expect(statSync(graph).mtimeMs).toBe(written); // loaded, not written again
    for (const s of [first, second]) {
      const got = await s.run(input);
      for (const name of Object.keys(want)) expect(bytes(got[name]).equals(bytes(want[name])), name).toBe(true);
    }

    writeFileSync(graph, 'not a model');
    const third = await new SessionFactory({ provider: 'cpu', threads: 1, optimizedModels: dir }).create(model, 'facemesh');
    expect(bytes((await third.run(input)).mesh).equals(bytes(want.mesh))).toBe(true);
    expect(statSync(graph).size).toBeGreaterThan(1_000_000); // remade
  }, 60_000);

  it('a model file is known by its path, size and time: loaded by path, and a rewritten file gets a graph of its own', async () => {
    const dir = path.join(freshDir('optimized-files'), 'graphs');
    const file = path.join(freshDir('model-file'), 'facemesh.onnx');
    copyFileSync(ensureFaceModel('facemesh'), file);
    const input = { input: { data: Float32Array.from({ length: 192 * 192 * 3 }, (_, i) => ((i * 7919) % 255) / 255), dims: [1, 192, 192, 3] } };
    const want = await (await new SessionFactory({ provider: 'cpu', threads: 1, optimizedModels: false }).create(readFileSync(file), 'facemesh')).run(input);
    const view = (t: { data: Float32Array }): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const same = async (): Promise<void> => {
      const got = await (await new SessionFactory({ provider: 'cpu', threads: 1, optimizedModels: dir }).create(file, 'facemesh')).run(input);
      for (const name of Object.keys(want)) expect(view(got[name]).equals(view(want[name])), name).toBe(true);
    };
    await same();
    expect(readdirSync(dir)).toHaveLength(1);
    await same(); // the saved graph, not a second one
    expect(readdirSync(dir)).toHaveLength(1);
    utimesSync(file, new Date(), new Date(Date.now() + 5000)); // rewritten (same bytes here)
    await same();
    expect(readdirSync(dir)).toHaveLength(2);
  }, 60_000);

  it('a cache folder that cannot be made only costs the saving', async () => {
    const blocker = path.join(freshDir('optimized-blocked'), 'file');
    writeFileSync(blocker, 'a file where the folder should be');
    const s = await new SessionFactory({ provider: 'cpu', threads: 1, optimizedModels: path.join(blocker, 'graphs') }).create(reluModel(), 'relu');
    expect(Array.from((await s.run({ x: { data: new Float32Array([-1, 2, -3, 4]), dims: [4] } })).y.data)).toEqual([0, 2, 0, 4]);
  });
});
